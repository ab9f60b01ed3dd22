/**
 * Runs a machine in slices on the event loop, so a shell stays responsive while a guest runs:
 * the machine executes fixed-size chunks (where a run stops depends only on the machine state and
 * the goal, never on wall time), and between chunks the runner yields to the event loop every few
 * milliseconds so key presses (Ctrl-C), `stop` and other commands get through.
 * @module
 */
import { type Machine, NS_PER_INSN } from "../../emu/machine.ts";

/** What a run is for. */
export type RunGoal =
  /** Exactly this many cycles (instructions, plus idle cycles skipped in WFI). */
  | { kind: "cycles"; count: number }
  /** Until the predicate holds (checked after each chunk), or `maxCycles` have passed. */
  | { kind: "until"; test: () => boolean; maxCycles: number }
  /** Until `stop()`, the guest's exit, or forever (waiting in idle until `wake()`). */
  | { kind: "forever" };

/** Why a run ended. */
export type RunEnd = "done" | "exit" | "idle" | "interrupted" | "limit";

/** How a run ended. */
export interface RunOutcome {
  /** Cycles this run took (instructions retired plus idle cycles skipped in WFI: virtual time). */
  cycles: number;
  /** Instructions this run retired (minstret after minus before). */
  insns: number;
  /** Why it ended: goal reached, guest exited, guest idle for good, stopped, limit reached. */
  end: RunEnd;
  /** Guest exit status when `end` is "exit". */
  exitCode?: number;
}

/** Tuning knobs. */
export interface RunnerOptions {
  /** Cycles per machine.run call (the granularity of `until` checks and interrupts). */
  chunk?: number;
  /** Wall-clock milliseconds between yields to the event loop. */
  yieldEveryMs?: number;
  /** Called after each yield with the cycles run so far. */
  onProgress?: (cycles: number) => void;
  /** Keep virtual time from running ahead of the wall clock (a guest at its real pace). */
  paced?: boolean;
  /** Called when a `forever` run starts waiting for input (the guest is idle, no timer set). */
  onIdle?: () => void;
}

/** Default chunk: 10 000 cycles (100 µs of virtual time). */
export const DEFAULT_CHUNK = 10_000;

/** Cycles that make `ns` of virtual time (rounded up). */
export function cyclesForNs(ns: bigint): number {
  return Number((ns + NS_PER_INSN - 1n) / NS_PER_INSN);
}

/**
 * Yield to the event loop for one macrotask: a MessageChannel message, not `setTimeout(0)`, whose
 * nesting clamp (4 ms after five nested timers) left the hart idle for a fifth of every 16 ms
 * slice. The channel is closed once used, so it never keeps the process alive.
 */
export function nextTick(): Promise<void> {
  return new Promise<void>((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
    ch.port2.close();
  });
}

/** Longest single wait of a paced run (so stop and wake are never far away). */
const MAX_PACING_WAIT_MS = 50;

/** One run of a machine toward a goal; `done` settles when it ends. */
export class GuestRun {
  /** Settles with the outcome (never rejects for guest behaviour). */
  readonly done: Promise<RunOutcome>;
  private stopRequested = false;
  private wakeUp: (() => void) | undefined;
  private finished = false;

  constructor(
    private readonly machine: Machine,
    private readonly goal: RunGoal,
    private readonly opts: RunnerOptions = {},
  ) {
    const instret0 = machine.cpu.instret;
    this.done = this.loop().then((o) => ({ ...o, insns: machine.cpu.instret - instret0 }))
      .finally(() => {
        this.finished = true;
      });
  }

  /** True until the run ended. */
  get running(): boolean {
    return !this.finished;
  }

  /** Stop at the next chunk boundary (Ctrl-C, `stop`). */
  stop(): void {
    this.stopRequested = true;
    this.machine.interrupt();
    this.wakeUp?.();
  }

  /** New input may have woken an idle guest (after `send`). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Wait `ms` of wall time, or less when stopped or woken. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).finally(() => this.wakeUp = undefined);
  }

  private async loop(): Promise<Omit<RunOutcome, "insns">> {
    const chunk = this.opts.chunk ?? DEFAULT_CHUNK;
    const yieldMs = this.opts.yieldEveryMs ?? 16;
    const goal = this.goal;
    const limit = goal.kind === "cycles"
      ? goal.count
      : goal.kind === "until"
      ? goal.maxCycles
      : Infinity;
    let cycles = 0;
    let lastYield = performance.now();
    const wall0 = lastYield;
    const virt0 = this.machine.nowNs();
    await nextTick();
    while (true) {
      if (this.stopRequested) return { cycles, end: "interrupted" };
      if (this.opts.paced) {
        const aheadMs = Number(this.machine.nowNs() - virt0) / 1e6 - (performance.now() - wall0);
        if (aheadMs > 1) {
          await this.pause(Math.min(aheadMs, MAX_PACING_WAIT_MS));
          lastYield = performance.now();
          continue;
        }
      }
      if (goal.kind === "until" && goal.test()) return { cycles, end: "done" };
      if (cycles >= limit) return { cycles, end: goal.kind === "until" ? "limit" : "done" };
      const r = this.machine.run(Math.min(chunk, limit - cycles));
      cycles += r.insns;
      if (r.stop === "exit") return { cycles, end: "exit", exitCode: r.exitCode };
      if (r.stop === "interrupted" && this.stopRequested) return { cycles, end: "interrupted" };
      if (r.stop === "idle") {
        if (goal.kind === "until" && goal.test()) return { cycles, end: "done" };
        if (goal.kind !== "forever") return { cycles, end: "idle" };
        const woken = new Promise<void>((resolve) => this.wakeUp = resolve);
        this.opts.onIdle?.();
        await woken;
        this.wakeUp = undefined;
        lastYield = performance.now();
        continue;
      }
      if (performance.now() - lastYield >= yieldMs) {
        await nextTick();
        lastYield = performance.now();
        this.opts.onProgress?.(cycles);
      }
    }
  }
}

/** How {@link runInstructions} ended. */
export interface RetireResult {
  /** Instructions retired (the count asked for unless the guest exited or went idle for good). */
  insns: number;
  /** Cycles that took (idle cycles in WFI included). */
  cycles: number;
  /**
   * "done", or why it ended early: the guest exited, idles with nothing to wake it, or is stuck
   * (cycles pass, the hart does not wait, and nothing retires: a trap taken again and again).
   */
  stop: "done" | "exit" | "idle" | "stuck";
}

/** Calls in a row that retire nothing outside WFI before {@link runInstructions} calls it stuck. */
const STUCK_CALLS = 64;

/**
 * Run until `n` instructions are retired (not cycles: a guest waiting in WFI lets cycles pass
 * without retiring any), or the guest exits or idles with nothing to wake it. Synchronous.
 */
export function runInstructions(machine: Machine, n: number): RetireResult {
  const start = machine.cpu.instret;
  let cycles = 0;
  let idleBefore = false;
  let fruitless = 0;
  while (machine.cpu.instret - start < n) {
    // A budget of the instructions left never overshoots: each cycle retires at most one. Once a
    // call retired nothing and the hart still waits in WFI, nothing wakes it before the next
    // device deadline, so the budget may reach that far (otherwise a long idle stretch would go
    // by a few cycles at a time).
    const left = n - (machine.cpu.instret - start);
    const budget = idleBefore ? Math.max(left, cyclesToNextDeadline(machine)) : left;
    const before = machine.cpu.instret;
    const r = machine.run(budget);
    cycles += r.insns;
    if (r.stop === "exit") return { insns: machine.cpu.instret - start, cycles, stop: "exit" };
    if (r.stop === "idle") return { insns: machine.cpu.instret - start, cycles, stop: "idle" };
    const none = machine.cpu.instret === before;
    idleBefore = none && machine.cpu.state.waiting !== 0;
    fruitless = none && !idleBefore ? fruitless + 1 : 0;
    if (fruitless >= STUCK_CALLS) {
      return { insns: machine.cpu.instret - start, cycles, stop: "stuck" };
    }
  }
  return { insns: machine.cpu.instret - start, cycles, stop: "done" };
}

/** Cycles until the earliest device deadline (0 when none is set). */
function cyclesToNextDeadline(machine: Machine): number {
  let next: bigint | null = null;
  for (const dev of machine.devices.values()) {
    const d = dev.nextDeadline?.() ?? null;
    if (d !== null && (next === null || d < next)) next = d;
  }
  return next === null ? 0 : Math.max(0, cyclesForNs(next - machine.nowNs()));
}
