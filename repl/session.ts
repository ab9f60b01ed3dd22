/**
 * The state one shell, script or CLI invocation works on: the current machine (the embedded
 * default machine until something else is booted or loaded), the guest it was booted with, the
 * snapshot store, and the guest run in progress (in the foreground, or in the background while
 * the prompt stays usable). Commands that drive a machine take a {@link ShellContext}.
 * @module
 */
import type { BootInfo } from "../emu/boot/boot.ts";
import { bootImage, type GuestImage } from "./guest_boot.ts";
import { DEFAULT_GUEST, VirtMachine, type VirtOptions } from "../emu/virt.ts";
import { GuestRun, type RunGoal, type RunOutcome } from "../harness/run/guest_runner.ts";
import { SnapshotStore } from "../harness/store/store.ts";
import type { CommandContext } from "./commands/types.ts";
import { UsageError } from "./commands/types.ts";
import { type StreamOptions, streamOptionsFor } from "../migration/extensions/stream_options.ts";

/** Default guest RAM of the embedded machine. */
export const DEFAULT_RAM = 128 * 1024 * 1024;

/** Options of a session: the machine's, plus where the snapshot store lives. */
export interface SessionOptions extends VirtOptions {
  /** Store directory or store (default: `SNAPSHELL_STORE` or `snapshots/`). */
  store?: string | SnapshotStore;
}

export type { GuestImage };

/** Where the current machine came from: booted here, loaded from a snapshot, or migrated in. */
export type MachineOrigin = "boot" | "load" | "incoming";

/** A run in progress and how it was started. */
export interface ActiveRun {
  /** The run. */
  run: GuestRun;
  /** True when it runs behind the prompt. */
  background: boolean;
  /** The machine it runs. */
  machine: VirtMachine;
  /** What it runs toward. */
  goal: RunGoal;
  /** Virtual time kept to the wall clock. */
  paced: boolean;
}

/** The machine a session drives, and how to make a fresh one. */
export class Session {
  /** The current machine. */
  machine: VirtMachine;
  /** Options new machines are made with. */
  readonly options: VirtOptions;
  /** The snapshot store. */
  readonly store: SnapshotStore;
  /** Guest of the current machine, when it was booted here (not loaded). */
  guest: GuestImage | undefined;
  /** Where a firmware/kernel boot placed its images (for `info machine`). */
  bootInfo: BootInfo | undefined;
  /** How the current machine came to be: its console output starts there. */
  origin: MachineOrigin = "boot";
  /** Receives every byte the guest prints, live (the interactive shell echoes it). */
  echo: ((byte: number) => void) | undefined;
  /** The run in progress, if any. */
  active: ActiveRun | undefined;
  /** Called when a background run ends on its own (exit, idle guest). */
  onBackgroundEnd: ((outcome: RunOutcome) => void) | undefined;
  /** Migration capabilities that are on (`set capability`); every save, load and migrate reads them. */
  readonly capabilities = new Set<string>();
  /** The cancellable operation in progress (migrate, incoming): Ctrl-C aborts it. */
  private operation: AbortController | undefined;
  /**
   * What holds the current machine besides a run (a detached migration): commands that run,
   * step, save or replace it refuse until it ends.
   */
  holder: string | undefined;
  /** The machine that migrated away and where to (QEMU's postmigrate run state). */
  postmigrate: { machine: VirtMachine; uri: string } | undefined;

  constructor(options: SessionOptions = {}) {
    const { store, ...machine } = options;
    this.options = { ramSize: DEFAULT_RAM, ...machine };
    this.store = store instanceof SnapshotStore
      ? store
      : new SnapshotStore(store ?? SnapshotStore.dirFromEnv());
    this.machine = this.freshMachine();
  }

  /** The embedded default machine: the demo guest, paused at reset. */
  static async withDefaultMachine(options: SessionOptions = {}): Promise<Session> {
    const s = new Session(options);
    s.boot({ name: "demo.elf", elf: await Deno.readFile(DEFAULT_GUEST) });
    return s;
  }

  /** A fresh machine with this session's options (not yet installed); its console echoes. */
  freshMachine(overrides: VirtOptions = {}): VirtMachine {
    const opts = { ...this.options, ...overrides };
    const chained = opts.console;
    const m = new VirtMachine({
      ...opts,
      console: (b) => {
        chained?.(b);
        this.echo?.(b);
      },
    });
    m.streamDefaults = () => this.streamOptions();
    return m;
  }

  /** The save/load options this session's capabilities stand for. */
  streamOptions(): StreamOptions {
    return streamOptionsFor(this.capabilities);
  }

  /** Boot `image` on a fresh machine (paused at reset) and make it current. */
  boot(image: GuestImage, overrides: VirtOptions = {}): VirtMachine {
    const m = this.freshMachine(overrides);
    const info = bootImage(m, image);
    this.install(m, image);
    this.bootInfo = info;
    return m;
  }

  /** Make `m` the current machine (a run of the old one is stopped first). */
  install(m: VirtMachine, guest?: GuestImage, origin?: MachineOrigin): void {
    this.requireFree("replace the machine");
    this.stopRun();
    m.streamDefaults ??= () => this.streamOptions();
    this.machine = m;
    this.guest = guest;
    this.origin = origin ?? (guest ? "boot" : "load");
    this.bootInfo = undefined;
  }

  /** Start running the current machine toward `goal` (paced: no faster than the wall clock). */
  startRun(goal: RunGoal, background: boolean, paced = false): ActiveRun {
    this.requireFree("run the guest");
    if (this.active) {
      throw new UsageError(
        `The guest is already running${this.active.background ? " in the background" : ""}: ` +
          "use stop (or Ctrl-C) first",
      );
    }
    const run = new GuestRun(this.machine, goal, { paced });
    const active: ActiveRun = { run, background, machine: this.machine, goal, paced };
    this.active = active;
    run.done.then((outcome) => {
      if (this.active === active) this.active = undefined;
      if (background && outcome.end !== "interrupted") this.onBackgroundEnd?.(outcome);
    });
    return active;
  }

  /** Stop the run in progress, if any (at once); resolves to its outcome. */
  stopRun(): Promise<RunOutcome | undefined> {
    const a = this.active;
    if (!a) return Promise.resolve(undefined);
    this.active = undefined;
    a.run.stop();
    return a.run.done;
  }

  /** Refuse while a detached migration holds the machine. */
  requireFree(what: string): void {
    if (this.holder) {
      throw new UsageError(
        `Cannot ${what} while ${this.holder}: wait for it, or migrate-cancel`,
      );
    }
  }

  /** True when the current machine migrated away (postmigrate): it stays stopped. */
  get inPostmigrate(): boolean {
    return this.postmigrate !== undefined && this.postmigrate.machine === this.machine;
  }

  /** Refuse to run a machine in postmigrate unless forced (a second copy of the guest). */
  requireRunnable(force: boolean): void {
    if (this.inPostmigrate && !force) {
      throw new UsageError(
        `This guest migrated to ${this.postmigrate!.uri} and this copy is stopped ` +
          "(postmigrate): give --force to run it here as well",
      );
    }
  }

  /** Refuse when a run is in progress (for commands that step or replace the machine by hand). */
  requireStopped(what: string): void {
    this.requireFree(what);
    if (this.active) {
      throw new UsageError(`Cannot ${what} while the guest is running: use stop (or Ctrl-C) first`);
    }
  }

  /**
   * Run `fn` with the guest paused (saving and comparing need a still machine); a background run
   * resumes afterwards if the machine is still the current one.
   */
  async paused<T>(fn: () => Promise<T>): Promise<T> {
    const a = this.active;
    if (a && !a.background) {
      throw new UsageError("The guest is running in the foreground: wait for it or press Ctrl-C");
    }
    this.requireFree("pause the guest for this");
    const stopped = a ? await this.stopRun() : undefined;
    try {
      return await fn();
    } finally {
      if (a && stopped && this.machine === a.machine && !this.active) {
        const rest = remainingGoal(a.goal, stopped.cycles);
        if (rest) this.startRun(rest, true, a.paced);
      }
    }
  }

  /**
   * Run `fn` as the session's cancellable operation: {@link cancelOperation} (Ctrl-C in the
   * shell, SIGINT in scripts and the CLI) aborts the signal it is given.
   */
  async cancellable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const outer = this.operation;
    const controller = new AbortController();
    this.operation = controller;
    try {
      return await fn(controller.signal);
    } finally {
      this.operation = outer;
    }
  }

  /** True while a cancellable operation runs and has not been cancelled yet. */
  get cancellableRunning(): boolean {
    return this.operation !== undefined && !this.operation.signal.aborted;
  }

  /** Cancel the operation in progress (Ctrl-C); false when there is none to cancel. */
  cancelOperation(): boolean {
    if (!this.cancellableRunning) return false;
    this.operation!.abort();
    return true;
  }

  /** Type into the UART and wake a background run that waits for input. */
  send(text: string): void {
    this.machine.sendInput(text);
    this.active?.run.wake();
  }
}

/** What is left of `goal` after `cycles` ran (undefined when nothing is). */
export function remainingGoal(goal: RunGoal, cycles: number): RunGoal | undefined {
  if (goal.kind === "cycles") {
    return goal.count > cycles ? { kind: "cycles", count: goal.count - cycles } : undefined;
  }
  if (goal.kind === "until") {
    return goal.maxCycles > cycles ? { ...goal, maxCycles: goal.maxCycles - cycles } : undefined;
  }
  return goal;
}

/** What shell commands receive: output channels plus the session. */
export interface ShellContext extends CommandContext {
  /** The machine and its options. */
  session: Session;
  /** True in the interactive shell: background runs are allowed there. */
  interactive?: boolean;
}
