/**
 * Pacing between the stream writer and a real transport: writes never run ahead of the bandwidth
 * limit in real time (QEMU's rate limiting). The modelled migration time is separate (virtual,
 * see precopy.ts); this only decides how fast bytes really leave.
 * @module
 */
import type { ByteSink } from "../../migration/stream/writer.ts";
import { cancellableSleep, throwIfCancelled } from "./cancel.ts";

/** Real time, injectable so pacing can be tested without waiting. */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolve after `ms` milliseconds (reject with MigrationCancelledError once `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The process's monotonic clock and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => cancellableSleep(ms, signal),
};

/** Paces writes so that the bytes passed on never run ahead of `bytesPerSecond`. */
export class ThrottledSink implements ByteSink {
  private start = -1;
  private sent = 0;
  /** Total milliseconds spent waiting (status and tests). */
  waitedMs = 0;

  constructor(
    private readonly inner: ByteSink,
    private bytesPerSecond: number,
    private readonly clock: Clock = realClock,
    private readonly signal?: AbortSignal,
  ) {}

  /** Change the rate from now on (migrate-set-parameters during a migration). */
  setRate(bytesPerSecond: number): void {
    if (bytesPerSecond === this.bytesPerSecond) return;
    this.bytesPerSecond = bytesPerSecond;
    this.start = -1; // pace afresh from the next write
    this.sent = 0;
  }

  /**
   * Wait until the bytes already sent have had their time on the wire, then pass `chunk` on. A
   * cancel during the wait rejects with MigrationCancelledError and nothing of `chunk` is sent.
   */
  async write(chunk: Uint8Array): Promise<void> {
    throwIfCancelled(this.signal);
    if (this.start < 0) this.start = this.clock.now();
    const due = this.start + this.sent / this.bytesPerSecond * 1000;
    const ahead = due - this.clock.now();
    if (ahead > 0) {
      this.waitedMs += ahead;
      await this.clock.sleep(ahead, this.signal);
    }
    this.sent += chunk.length;
    await this.inner.write(chunk);
  }
}
