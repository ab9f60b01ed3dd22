/**
 * The fuzz workers: one Web Worker per core, each with its own reusable machine, fed ranges of
 * case indices from a queue, and watched: a worker whose heartbeat stops for longer than the
 * hang limit is terminated, the case it was in is recorded as a hang, and a new worker takes
 * over the rest of its range.
 * @module
 */
import type { CaseOutcome } from "./classes.ts";
import { type ClassCounts, emptyCounts } from "./classes.ts";
import type { BugCandidate, FromWorker, ToWorker, WorkerSettings } from "./protocol.ts";
import type { CorruptOp } from "../../migration/corrupt/ops.ts";

/** A fuzz worker failed in a way that is not a fuzz finding (it could not even start). */
export class FuzzWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuzzWorkerError";
  }
}

interface Slot {
  worker: Worker;
  beat: Int32Array;
  /** Range being run, if any. */
  range?: { from: number; to: number };
  /** Exact run being done, if any. */
  exact?: { id: number; resolve: (o: CaseOutcome) => void };
  lastCount: number;
  lastChange: number;
}

/** What the pool reports back for the whole campaign. */
export interface PoolTotals {
  counts: ClassCounts;
  bugs: BugCandidate[];
  preParsed: number;
  /** Sum of the workers' busy milliseconds. */
  busyMs: number;
}

/**
 * The watchdog's verdict on a busy worker whose heartbeat has not moved since the last look:
 * `at` is the case it is in (-1 - id for an exact run), `quietMs` how long it has been silent.
 */
export type StuckTest = (at: number, quietMs: number) => boolean;

/** Workers plus the queue and the watchdog. */
export class FuzzPool {
  private slots: Slot[] = [];
  private queue: { from: number; to: number }[] = [];
  private totals: PoolTotals = { counts: emptyCounts(), bugs: [], preParsed: 0, busyMs: 0 };
  private outstanding = 0;
  private finished?: () => void;
  private failed?: (e: Error) => void;
  private timer?: ReturnType<typeof setInterval>;
  private exactId = 0;

  private constructor(
    private readonly base: Uint8Array,
    private readonly settings: WorkerSettings,
    private readonly hangMs: number,
    private readonly onRange: (done: number) => void,
    private readonly stuck: StuckTest,
  ) {}

  /**
   * Start `count` workers on `base`; resolves when all are ready. `stuck` decides when a worker
   * that has made no progress is stuck (default: silent for `hangMs`).
   */
  static async start(
    base: Uint8Array,
    settings: WorkerSettings,
    count: number,
    hangMs: number,
    onRange: (done: number) => void = () => {},
    stuck: StuckTest = (_at, quietMs) => quietMs >= hangMs,
  ): Promise<FuzzPool> {
    const pool = new FuzzPool(base, settings, hangMs, onRange, stuck);
    await Promise.all(Array.from({ length: count }, () => pool.spawn()));
    pool.timer = setInterval(() => pool.watch(), Math.min(250, hangMs / 4));
    return pool;
  }

  private spawn(): Promise<Slot> {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    const sab = new SharedArrayBuffer(8);
    const slot: Slot = { worker, beat: new Int32Array(sab), lastCount: 0, lastChange: Date.now() };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data.type === "ready") {
          worker.onmessage = (m: MessageEvent<FromWorker>) => this.receive(slot, m.data);
          resolve(slot);
        } else if (e.data.type === "failed") reject(new FuzzWorkerError(e.data.message));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        const err = new FuzzWorkerError(`fuzz worker failed: ${e.message}`);
        if (this.failed) this.failed(err);
        else reject(err);
      };
      const init: ToWorker = {
        type: "init",
        base: this.base,
        settings: this.settings,
        heartbeat: sab,
      };
      worker.postMessage(init);
    });
  }

  private receive(slot: Slot, msg: FromWorker): void {
    if (msg.type === "range-done") {
      const t = this.totals;
      for (const k of Object.keys(t.counts) as (keyof ClassCounts)[]) t.counts[k] += msg.counts[k];
      t.bugs.push(...msg.bugs);
      t.preParsed += msg.preParsed;
      t.busyMs += msg.ms;
      slot.range = undefined;
      this.onRange(msg.to - msg.from);
      this.outstanding--;
      this.dispatch();
    } else if (msg.type === "exact-done") {
      const e = slot.exact;
      slot.exact = undefined;
      e?.resolve(msg.outcome);
    } else if (msg.type === "failed") {
      this.failed?.(new FuzzWorkerError(msg.message));
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.range || slot.exact) continue;
      const next = this.queue.shift();
      if (!next) break;
      slot.range = next;
      slot.lastCount = Atomics.load(slot.beat, 1);
      slot.lastChange = Date.now();
      slot.worker.postMessage({ type: "range", ...next } satisfies ToWorker);
    }
    if (this.outstanding === 0) this.finished?.();
  }

  /** The watchdog: a busy worker whose heartbeat has not moved for `hangMs` is stuck. */
  private watch(): void {
    const now = Date.now();
    for (const slot of [...this.slots]) {
      if (!slot.range && !slot.exact) continue;
      const count = Atomics.load(slot.beat, 1);
      if (count !== slot.lastCount) {
        slot.lastCount = count;
        slot.lastChange = now;
        continue;
      }
      const at = Atomics.load(slot.beat, 0);
      if (!this.stuck(at, now - slot.lastChange)) continue;
      slot.worker.terminate();
      this.slots = this.slots.filter((s) => s !== slot);
      const outcome: CaseOutcome = {
        class: "hang",
        phase: "watchdog",
        detail: `no progress for ${this.hangMs} ms`,
      };
      if (slot.exact) {
        slot.exact.resolve(outcome);
      } else if (slot.range) {
        // Counts of a range arrive when it ends, so the cases before the stuck one run again.
        const range = slot.range;
        this.totals.counts.hang++;
        this.totals.bugs.push({ index: at, ops: [], outcome });
        this.onRange(1);
        const rest = [{ from: range.from, to: at }, { from: at + 1, to: range.to }]
          .filter((r) => r.to > r.from);
        this.queue.unshift(...rest);
        this.outstanding += rest.length - 1;
      }
      this.spawn().then(() => this.dispatch(), (e) => this.failed?.(e));
    }
  }

  /** Run cases `[start, end)` in ranges of `chunk`; resolves with the totals (bug candidates
   * found by the watchdog carry no operations: rebuild them from their index). On `signal` it
   * stops the workers and resolves with the ranges finished so far. */
  run(start: number, end: number, chunk: number, signal?: AbortSignal): Promise<PoolTotals> {
    for (let from = start; from < end; from += chunk) {
      this.queue.push({ from, to: Math.min(end, from + chunk) });
    }
    this.outstanding = this.queue.length;
    return new Promise((resolve, reject) => {
      const stop = () => {
        this.queue = [];
        this.close();
        resolve(this.totals);
      };
      if (signal?.aborted) return stop();
      signal?.addEventListener("abort", stop, { once: true });
      this.finished = () => {
        signal?.removeEventListener("abort", stop);
        resolve(this.totals);
      };
      this.failed = reject;
      this.dispatch();
    });
  }

  /** Run one recipe exactly on an idle worker (a hang comes back as class "hang"). */
  async exact(ops: CorruptOp[]): Promise<CaseOutcome> {
    let slot = this.slots.find((s) => !s.range && !s.exact);
    if (!slot) slot = await this.spawn();
    const id = this.exactId++;
    return await new Promise((resolve) => {
      slot!.exact = { id, resolve };
      slot!.lastCount = Atomics.load(slot!.beat, 1);
      slot!.lastChange = Date.now();
      slot!.worker.postMessage({ type: "exact", id, ops } satisfies ToWorker);
    });
  }

  /** Stop every worker. */
  close(): void {
    clearInterval(this.timer);
    for (const s of this.slots) s.worker.terminate();
    this.slots = [];
  }
}
