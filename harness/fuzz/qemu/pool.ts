/**
 * A pool of warm QEMU processes: each lane runs one case at a time on a QEMU that was started and
 * set waiting on `migrate-incoming` while earlier cases ran, so a case costs the load and the
 * verdict, not the start. A start takes longer than most cases (a rejection is over in tens of
 * milliseconds, a start takes hundreds), so more QEMUs start ahead than there are lanes, or the
 * lanes would wait for them. A QEMU serves one case (a loaded machine is not fresh any more, and
 * QEMU 7.2 exits after a failed load) and is then killed with its process group, in the
 * background while its lane goes on; {@link QemuPool.close} kills every process still there.
 * @module
 */
import type { QemuOutcome } from "./outcome.ts";
import { QemuProcess, QemuStartError } from "./process.ts";
import { usesIcount } from "./progress.ts";
import { type CaseBounds, type QemuSender, runQemuCase } from "./run_case.ts";
import type { QemuVia } from "./inlet.ts";

/** Starts a case tries before it is `no-start`. */
const START_ATTEMPTS = 3;

/** Settings of a pool. */
export interface QemuPoolOptions extends CaseBounds {
  /** Program and machine arguments (`qemu-system-riscv32 -M virt -bios none -m 16M`). */
  argv: readonly string[];
  /** QEMUs kept starting or warm ahead of the cases. */
  warm: number;
  /** Bound for one start (default 20,000 ms). */
  startMs?: number;
  /** Back each QEMU's heap with huge pages (process.ts `qemuEnv`). */
  hugeHeap?: boolean;
  /** How streams reach the QEMUs (default tcp). */
  via?: QemuVia;
}

/** Warm QEMUs and the cases run on them. */
export class QemuPool {
  private readonly ready: Promise<QemuProcess>[] = [];
  private readonly live = new Set<QemuProcess>();
  /** QEMUs done with and being killed (their lanes did not wait). */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  /** Starts made, and the milliseconds from spawn to waiting on a port (summed). */
  starts = 0;
  startMs = 0;

  private constructor(private readonly opts: QemuPoolOptions, private readonly dir: string) {}

  /** A pool whose QEMUs keep their sockets and serial files in a fresh temporary directory. */
  static async create(opts: QemuPoolOptions): Promise<QemuPool> {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qemu-" });
    const pool = new QemuPool(opts, dir);
    for (let i = 0; i < opts.warm; i++) pool.ready.push(pool.startOne());
    return pool;
  }

  private startOne(): Promise<QemuProcess> {
    const t0 = performance.now();
    const p = QemuProcess.start(this.opts.argv, {
      dir: this.dir,
      timeoutMs: this.opts.startMs,
      hugeHeap: this.opts.hugeHeap,
      via: this.opts.via,
    })
      .then((q) => {
        this.starts++;
        this.startMs += performance.now() - t0;
        if (this.closed) {
          q.dispose();
          throw new QemuStartError("the pool was closed", "");
        }
        this.live.add(q);
        return q;
      });
    p.catch(() => {}); // seen by whoever takes it
    return p;
  }

  /** A warm QEMU (the next one starts at once, in the background). */
  private take(): Promise<QemuProcess> {
    const next = this.ready.shift() ?? this.startOne();
    if (!this.closed) this.ready.push(this.startOne());
    return next;
  }

  /**
   * Load `bytes` into the next warm QEMU (through `send`, when given: the wire faults of
   * `replay --target qemu`) and classify; a QEMU that never got ready is `no-start`.
   */
  async run(
    bytes: Uint8Array,
    send?: QemuSender,
  ): Promise<QemuOutcome> {
    let q: QemuProcess | undefined;
    // A start that failed says nothing about the stream (a starved host can miss the bound):
    // the case waits for the next QEMU, and only a QEMU that never starts is `no-start`.
    for (let attempt = 1; !q; attempt++) {
      try {
        q = await this.take();
      } catch (e) {
        if (!(e instanceof QemuStartError)) throw e;
        if (attempt >= START_ATTEMPTS || this.closed) {
          return { class: "no-start", phase: "start", detail: e.message };
        }
      }
    }
    try {
      const bounds = { ...this.opts, icount: usesIcount(this.opts.argv) };
      return await runQemuCase(q, bytes, bounds, send);
    } finally {
      this.live.delete(q);
      const gone: Promise<void> = q.dispose().finally(() => this.retiring.delete(gone));
      this.retiring.add(gone);
    }
  }

  /** Kill every QEMU of the pool (warm or busy) and remove its directory. */
  async close(): Promise<void> {
    this.closed = true;
    const waiting = this.ready.splice(0);
    const procs = [...this.live];
    this.live.clear();
    await Promise.all([
      ...procs.map((q) => q.dispose()),
      ...waiting.map((p) => p.then((q) => q.dispose(), () => {})),
      ...this.retiring,
    ]);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
