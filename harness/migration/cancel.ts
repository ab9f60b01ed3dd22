/**
 * Cancelling a migration (Ctrl-C, `AbortSignal`): long synchronous work (sending pages, running
 * the guest between rounds) passes through a {@link Checkpoint} now and then, which gives the
 * event loop a turn (so a signal or a key press gets through) and throws
 * {@link MigrationCancelledError} once the signal has aborted. Waits on the outside world (a
 * connection, a pacing pause) race the signal instead.
 * @module
 */
/** The caller cancelled the migration (Ctrl-C): not a fault of the stream or the transport. */
export class MigrationCancelledError extends Error {
  constructor(what = "migration") {
    super(`The ${what} was cancelled`);
    this.name = "MigrationCancelledError";
  }
}

/** Wall-clock milliseconds between turns given to the event loop (as a guest run yields). */
export const YIELD_EVERY_MS = 10;

/**
 * One turn of the event loop (timers, I/O, signals), without a timer's millisecond or so of
 * minimum delay: a message through a fresh channel (node:timers' setImmediate would cost the
 * Node compatibility layer's memory in every process that migrates).
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Throw {@link MigrationCancelledError} when `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new MigrationCancelledError(what);
}

/**
 * Where long synchronous work lets signals in: yields every few ms, throws once aborted. Without
 * a signal nothing can cancel, and it never yields (the first turn costs a millisecond or two).
 */
export class Checkpoint {
  private last = performance.now();

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly everyMs = YIELD_EVERY_MS,
  ) {}

  /** True once the signal aborted. */
  get cancelled(): boolean {
    return this.signal?.aborted ?? false;
  }

  /** Give the event loop a turn if the last one is `everyMs` old; throw if cancelled. */
  async pass(): Promise<void> {
    if (!this.signal) return;
    throwIfCancelled(this.signal);
    if (performance.now() - this.last >= this.everyMs) {
      await nextTurn();
      this.last = performance.now();
      throwIfCancelled(this.signal);
    }
  }
}

/**
 * Settle as `p` does, or reject with {@link MigrationCancelledError} as soon as `signal` aborts
 * (`p` goes on; its outcome is then ignored, and its rejection handled).
 */
export function raceCancel<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  what?: string,
): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(new MigrationCancelledError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MigrationCancelledError(what));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Wait `ms`, or reject with {@link MigrationCancelledError} at once when `signal` aborts. */
export function cancellableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new MigrationCancelledError());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new MigrationCancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
