/**
 * The state one shell, script or CLI invocation works on: the current machine (the embedded
 * default machine until something else is booted or loaded) and the options it was made with.
 * Commands that drive a machine take a {@link ShellContext}.
 * @module
 */
import { DEFAULT_GUEST, VirtMachine, type VirtOptions } from "../emu/virt.ts";
import type { CommandContext } from "./commands/types.ts";

/** Default guest RAM of the embedded machine. */
export const DEFAULT_RAM = 128 * 1024 * 1024;

/** The machine a session drives, and how to make a fresh one. */
export class Session {
  /** The current machine. */
  machine: VirtMachine;
  /** Options new machines are made with. */
  readonly options: VirtOptions;

  constructor(options: VirtOptions = {}) {
    this.options = { ramSize: DEFAULT_RAM, ...options };
    this.machine = new VirtMachine(this.options);
  }

  /** The embedded default machine: the demo guest, paused at reset. */
  static async withDefaultMachine(options: VirtOptions = {}): Promise<Session> {
    const s = new Session(options);
    s.machine.boot(await Deno.readFile(DEFAULT_GUEST));
    return s;
  }

  /** A fresh machine with this session's options (not yet installed). */
  freshMachine(overrides: VirtOptions = {}): VirtMachine {
    return new VirtMachine({ ...this.options, ...overrides });
  }
}

/** What shell commands receive: output channels plus the session. */
export interface ShellContext extends CommandContext {
  /** The machine and its options. */
  session: Session;
}
