/**
 * Progress bars for long work (saving or loading a big RAM, live migration, fuzz campaigns):
 * `ctx.progress(label, total)` returns a bar to `update(done)` and `done()`. On a terminal it is
 * drawn with cli-progress on standard error, and only once the work has lasted a moment, so short
 * operations print nothing (a timer draws it then, even while the work waits on a slow transport
 * and has nothing new to report); anywhere else (scripts, pipes, tests) it is silent. Bars carry no
 * colour (NO_COLOR holds trivially); with NO_COLOR set they are drawn in plain ASCII too.
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";

/** One running progress bar. */
export interface ProgressBar {
  /** Report how much is done (and the total, when it changed; a note shown after the figures). */
  update(done: number, total?: number, note?: string): void;
  /** Finish the bar (removes it from the terminal). */
  done(): void;
}

/** What a bar counts: bytes (shown in MiB once the total reaches 1 MiB) or plain units. */
export type ProgressUnit = "bytes" | "count";

/** Makes a bar for a piece of work of `total` units (bytes by default; pages, cases). */
export type ProgressFactory = (label: string, total: number, unit?: ProgressUnit) => ProgressBar;

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
  /** Plain ASCII bar (default: when NO_COLOR is set). */
  ascii?: boolean;
}

function unitsFormatter(total: number, unit: ProgressUnit): (v: number) => string {
  if (unit === "count" || total < 1 << 20) return (v) => `${v}`;
  return (v) => `${(v / (1 << 20)).toFixed(1)} MiB`;
}

function noColorSet(): boolean {
  try {
    return (Deno.env.get("NO_COLOR") ?? "") !== "";
  } catch {
    return false;
  }
}

/** Progress drawn with cli-progress when `stream` is a terminal, silent otherwise. */
export function terminalProgress(opts: TerminalProgressOptions = {}): ProgressFactory {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return silentProgress;
  const delay = opts.delayMs ?? 250;
  const now = opts.now ?? (() => performance.now());
  const preset = (opts.ascii ?? noColorSet())
    ? cliProgress.Presets.legacy
    : cliProgress.Presets.shades_classic;
  return (label, total, unit = "bytes") => {
    const start = now();
    let max = Math.max(1, total);
    let fmt = unitsFormatter(max, unit);
    let bar: cliProgress.SingleBar | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;
    let last = { done: 0, payload: { shown: fmt(0), shownTotal: fmt(max), note: "" } };
    const draw = () => {
      if (bar || finished) return;
      bar = new cliProgress.SingleBar({
        // deno-lint-ignore no-explicit-any
        stream: stream as any,
        format: `${label} [{bar}] {percentage}% {shown}/{shownTotal}{note}`,
        clearOnComplete: true,
        hideCursor: false,
        noTTYOutput: false,
        notTTYSchedule: 0,
      }, preset);
      bar.start(max, 0, last.payload);
      bar.update(Math.min(last.done, max), last.payload);
    };
    return {
      update(done, newTotal, note) {
        if (newTotal !== undefined && Math.max(1, newTotal) !== max) {
          max = Math.max(1, newTotal);
          fmt = unitsFormatter(max, unit);
          bar?.setTotal(max);
        }
        const payload = { shown: fmt(done), shownTotal: fmt(max), note: note ? ` ${note}` : "" };
        last = { done, payload };
        if (!bar) {
          const waited = now() - start;
          if (waited < delay) {
            timer ??= setTimeout(() => {
              timer = undefined;
              draw();
            }, delay - waited);
            return;
          }
          draw();
        }
        bar!.update(Math.min(done, max), payload);
      },
      done() {
        finished = true;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
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
