/**
 * Progress bars for long work (saving or loading a big RAM, live migration, fuzz campaigns):
 * `ctx.progress(label, total)` returns a bar to `update(done)` and `done()`. On a terminal it is
 * drawn with cli-progress on standard error, and only once the work has lasted a moment, so short
 * operations print nothing; anywhere else (scripts, pipes, tests) it is silent.
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";

/** One running progress bar. */
export interface ProgressBar {
  /** Report how much is done (and the total, when it changed). */
  update(done: number, total?: number): void;
  /** Finish the bar (removes it from the terminal). */
  done(): void;
}

/** Makes a bar for a piece of work of `total` units (bytes, pages, cases). */
export type ProgressFactory = (label: string, total: number) => ProgressBar;

/** A bar that draws nothing (non-terminals, tests). */
export const silentProgress: ProgressFactory = () => ({ update() {}, done() {} });

/** The stream a terminal bar is drawn on (process.stderr or a test double). */
export interface ProgressStream {
  /** True on a terminal. */
  isTTY?: boolean;
  /** Terminal width. */
  columns?: number;
  /** Write text. */
  write(text: string): boolean | void;
}

/** Options of {@link terminalProgress}. */
export interface TerminalProgressOptions {
  /** Where to draw (default: standard error). */
  stream?: ProgressStream;
  /** Start drawing only after this many ms of work (default 250). */
  delayMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

function unitsFormatter(total: number): (v: number) => string {
  if (total < 1 << 20) return (v) => `${v}`;
  return (v) => `${(v / (1 << 20)).toFixed(1)} MiB`;
}

/** Progress drawn with cli-progress when `stream` is a terminal, silent otherwise. */
export function terminalProgress(opts: TerminalProgressOptions = {}): ProgressFactory {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return silentProgress;
  const delay = opts.delayMs ?? 250;
  const now = opts.now ?? (() => performance.now());
  return (label, total) => {
    const start = now();
    const fmt = unitsFormatter(total);
    let bar: cliProgress.SingleBar | undefined;
    let max = Math.max(1, total);
    return {
      update(done, newTotal) {
        if (newTotal !== undefined && newTotal !== max) {
          max = Math.max(1, newTotal);
          bar?.setTotal(max);
        }
        if (!bar) {
          if (now() - start < delay) return;
          bar = new cliProgress.SingleBar({
            // deno-lint-ignore no-explicit-any
            stream: stream as any,
            format: `${label} [{bar}] {percentage}% {shown}/{shownTotal}`,
            clearOnComplete: true,
            hideCursor: false,
            noTTYOutput: false,
            notTTYSchedule: 0,
          }, cliProgress.Presets.shades_classic);
          bar.start(max, 0, { shown: fmt(0), shownTotal: fmt(max) });
        }
        bar.update(Math.min(done, max), { shown: fmt(done), shownTotal: fmt(max) });
      },
      done() {
        bar?.stop();
        bar = undefined;
      },
    };
  };
}

/** The progress factory of a context, silent when it has none. */
export function progressOf(ctx: { progress?: ProgressFactory }): ProgressFactory {
  return ctx.progress ?? silentProgress;
}
