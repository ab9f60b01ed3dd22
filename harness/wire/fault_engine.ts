/**
 * The fault engine: forwards a stream from an input to an output and applies faults on the way
 * (cut, stall, bit flips and byte or field rewrites, dropped or duplicated ranges and chunks),
 * at positions the {@link StreamView} resolves. Offsets are the source stream's; each fault that
 * fires is reported once with its source and destination offsets and where it hit. Bytes are
 * forwarded only as far as the view understands them, so a named position cannot slip by before
 * it is known. Pacing and write sizes are the output's business (see wire_output.ts).
 * @module
 */
import { CorruptOpError, encodeFieldValue } from "../../migration/corrupt/mod.ts";
import { MigrationError } from "../../migration/errors.ts";
import { FaultSpecError } from "./errors.ts";
import { type Fault, formatFault } from "./fault_spec.ts";
import { describeOffset, type OffsetName } from "./offset_names.ts";
import type { StreamView } from "./stream_view.ts";

/** A fault that fired. */
export interface FaultEvent {
  /** The fault's word. */
  fault: string;
  /** Its kind. */
  action: Fault["kind"];
  /** Offset in the source stream where it hit. */
  sourceOffset: number;
  /** Bytes the destination had been sent when it hit. */
  destinationOffset: number;
  /** Bytes affected (0 for cut and stall). */
  length: number;
  /** Where it hit (section, chunk, field when known). */
  where: OffsetName;
  /** What was done. */
  detail: string;
}

/** A fault that never fired, and why. */
export interface UnreachedFault {
  fault: string;
  reason: string;
}

/** Where the stream comes from: the next piece, or null at its end. */
export interface EngineInput {
  read(): Promise<Uint8Array | null>;
}

/** Where the stream goes. */
export interface EngineOutput {
  write(bytes: Uint8Array): Promise<void>;
}

/** How the forwarding ended. */
export interface EngineResult {
  /** Source bytes received. */
  received: number;
  /** Source offset up to which the stream was handled. */
  handled: number;
  /** Bytes written to the output. */
  sent: number;
  /** True when the source ended (rather than a cut or a failure stopping the forwarding). */
  sourceEnded: boolean;
  /** Faults that fired, in order. */
  events: FaultEvent[];
  /** The cut, when one fired. */
  cut?: FaultEvent;
  /** Faults that never fired. */
  unreached: UnreachedFault[];
  /** Reading the source or writing the output failed. */
  failure?: { side: "source" | "destination"; error: MigrationError; where: OffsetName };
}

/** Hooks: every event as it fires, and the clock stalls wait on. */
export interface EngineHooks {
  onEvent?(e: FaultEvent): void;
  sleep?(ms: number): Promise<void>;
}

interface Pending {
  fault: Fault;
  word: string;
  done: boolean;
  /** Resolved start (source offset). */
  at?: number;
  /** Resolved end of a drop/dup range. */
  end?: number;
  /** Resolved byte patch: new bytes from the old ones. */
  patch?: { length: number; apply(old: Uint8Array): Uint8Array; label: string };
  /** Bytes of the patch sent so far. */
  patched?: number;
  /** Old and new bytes of a patch, for the log. */
  seen?: { old: Uint8Array; now: Uint8Array };
}

/** Source bytes from `base` on, kept until handled. */
class ByteWindow {
  private chunks: Uint8Array[] = [];
  base = 0;
  end = 0;

  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.end += b.length;
  }

  /** Copy of `[a, b)` (a >= base). */
  slice(a: number, b: number): Uint8Array {
    const out = new Uint8Array(b - a);
    let at = this.base;
    for (const c of this.chunks) {
      const s = Math.max(a, at);
      const e = Math.min(b, at + c.length);
      if (s < e) out.set(c.subarray(s - at, e - at), s - a);
      at += c.length;
      if (at >= b) break;
    }
    return out;
  }

  /** Forget bytes before `upTo`. */
  discard(upTo: number): void {
    while (this.chunks.length && this.base + this.chunks[0].length <= upTo) {
      this.base += this.chunks[0].length;
      this.chunks.shift();
    }
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

function asFailure(e: unknown): MigrationError {
  if (e instanceof MigrationError) return e;
  throw e;
}

/**
 * Forward `input` to `output`, applying `faults` (throttle and chunk are the output's and are
 * ignored here). Never throws for a failing connection: the result says what happened.
 */
export async function runFaults(
  input: EngineInput,
  output: EngineOutput,
  view: StreamView,
  faults: readonly Fault[],
  hooks: EngineHooks = {},
): Promise<EngineResult> {
  const sleep = hooks.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const pending: Pending[] = faults
    .filter((f) => f.kind !== "throttle" && f.kind !== "chunk")
    .map((fault) => ({ fault, word: formatFault(fault), done: false }));
  const result: EngineResult = {
    received: 0,
    handled: 0,
    sent: 0,
    sourceEnded: false,
    events: [],
    unreached: [],
  };
  const win = new ByteWindow();

  const fire = (p: Pending, at: number, length: number, detail: string, dest = result.sent) => {
    p.done = true;
    const e: FaultEvent = {
      fault: p.word,
      action: p.fault.kind,
      sourceOffset: at,
      destinationOffset: dest,
      length,
      where: view.name(at),
      detail,
    };
    result.events.push(e);
    hooks.onEvent?.(e);
    return e;
  };
  const giveUp = (p: Pending, reason: string) => {
    p.done = true;
    result.unreached.push({ fault: p.word, reason });
  };

  /** Resolve what can be; returns the offset before which bytes must wait (holds). */
  const resolveAll = (): number => {
    let hold = Infinity;
    for (const p of pending) {
      if (p.done || (p.at !== undefined && (p.end !== undefined || !needsEnd(p.fault)))) continue;
      try {
        const h = resolveOne(p, view);
        if (h !== undefined) hold = Math.min(hold, h);
      } catch (e) {
        if (e instanceof FaultSpecError) giveUp(p, e.message);
        else throw e;
      }
    }
    return hold;
  };

  /** Send `[a, b)` with the patches that touch it; `extra` sends a duplicate (counts nothing). */
  const emit = async (a: number, b: number, extra = false) => {
    const bytes = win.slice(a, b);
    const dest = result.sent;
    const touching = pending.filter((p) =>
      p.patch && p.at !== undefined && !p.done && p.at < b && p.at + p.patch.length > a
    ).sort((x, y) => x.at! - y.at!);
    for (const p of touching) {
      if (!p.patch || p.at === undefined) continue;
      const s = Math.max(a, p.at);
      const e = Math.min(b, p.at + p.patch.length);
      if (s >= e) continue;
      if (!p.seen) {
        const old = new Uint8Array(p.patch.length);
        old.set(win.slice(s, e), s - p.at);
        p.seen = { old, now: p.patch.apply(old) };
      } else if (!extra) p.seen.old.set(win.slice(s, e), s - p.at);
      bytes.set(p.seen.now.subarray(s - p.at, e - p.at), s - a);
      if (extra) continue;
      p.patched = (p.patched ?? 0) + (e - s);
      if (p.patched >= p.patch.length) {
        fire(
          p,
          p.at,
          p.patch.length,
          `${p.patch.label}: ${hex(p.seen.old)} -> ${hex(p.seen.now)}`,
          dest + (p.at - a),
        );
        p.patch = undefined;
      }
    }
    await output.write(bytes);
    result.sent += bytes.length;
  };

  let inputEnded = false;
  try {
    for (;;) {
      const hold = resolveAll();
      let next = Infinity;
      let due: Pending | undefined;
      for (const p of pending) {
        if (p.done || p.patch || p.at === undefined) continue;
        if (needsEnd(p.fault) && p.end === undefined) continue;
        if (p.at < result.handled) {
          giveUp(p, `byte ${p.at} was already past (inside a dropped range?)`);
          continue;
        }
        if (p.at < next) {
          next = p.at;
          due = p;
        }
      }
      const handled = result.handled;
      const limit = Math.min(view.limit(), win.end, next, hold);
      if (limit > handled) {
        await emit(handled, limit);
        result.handled = limit;
        win.discard(limit);
        continue;
      }
      let wantInput = true;
      if (due && next === handled) {
        const f = due.fault;
        if (f.kind === "cut") {
          result.cut = fire(due, handled, 0, `connection cut after ${result.sent} bytes sent`);
          break;
        }
        if (f.kind === "stall") {
          fire(due, handled, 0, `stalled ${f.ms} ms after ${result.sent} bytes sent`);
          await sleep(f.ms);
          continue;
        }
        if (f.kind === "drop" || f.kind === "dup") {
          const end = Math.min(due.end!, inputEnded ? win.end : due.end!);
          if (win.end >= end) {
            const chunk = f.length === undefined ? ` (chunk ${view.name(handled).chunk})` : "";
            const dest = result.sent;
            if (f.kind === "dup") await emit(handled, end, true);
            const what = f.kind === "drop" ? "left out" : "sent twice";
            fire(due, handled, end - handled, `${end - handled} bytes${chunk} ${what}`, dest);
            if (f.kind === "drop") {
              result.handled = end;
              win.discard(end);
            }
            wantInput = false;
          }
        }
      }
      if (!wantInput) continue;
      if (inputEnded) break;
      let chunk: Uint8Array | null;
      try {
        chunk = await input.read();
      } catch (e) {
        result.failure = { side: "source", error: asFailure(e), where: view.name(win.end) };
        break;
      }
      if (chunk === null) {
        inputEnded = true;
        result.sourceEnded = true;
        // The complete layout is worked out now only if a field still waits for it.
        await view.end(pending.some((p) => !p.done && p.at === undefined && namesField(p.fault)));
        continue;
      }
      if (!chunk.length) continue;
      win.push(chunk);
      result.received += chunk.length;
      await view.feed(chunk);
    }
  } catch (e) {
    result.failure = {
      side: "destination",
      error: asFailure(e),
      where: view.name(result.handled),
    };
  }
  for (const p of pending) {
    if (p.done) continue;
    const reason = p.at === undefined
      ? "its position never appeared in the stream"
      : p.at < result.handled
      ? `its bytes at ${p.at} were left out`
      : p.at >= result.received && result.sourceEnded
      ? `byte ${p.at} is beyond the end of the stream (${result.received} bytes)`
      : `the stream stopped before byte ${p.at}`;
    giveUp(p, reason);
  }
  return result;
}

function namesField(f: Fault): boolean {
  return f.kind === "field" || ("at" in f && f.at.kind === "field");
}

function needsEnd(f: Fault): boolean {
  return f.kind === "drop" || f.kind === "dup";
}

/** Resolve one fault's position; returns a hold offset while it cannot be resolved yet. */
function resolveOne(p: Pending, view: StreamView): number | undefined {
  const f = p.fault;
  if (f.kind === "field") {
    const r = view.resolve({ kind: "field", path: f.path, plus: 0 });
    if (!r) return view.holdFor(f.path);
    let bytes: Uint8Array;
    try {
      bytes = encodeFieldValue(r.field!, f.value);
    } catch (e) {
      if (e instanceof CorruptOpError) throw new FaultSpecError(e.reason, p.word);
      throw e;
    }
    p.at = r.offset;
    p.patch = { length: bytes.length, apply: () => bytes, label: `field ${r.field!.path}` };
    return undefined;
  }
  if (f.kind === "throttle" || f.kind === "chunk") return undefined;
  const r = view.resolve(f.at);
  if (!r) return f.at.kind === "field" ? view.holdFor(f.at.path) : undefined;
  switch (f.kind) {
    case "cut":
    case "stall":
      p.at = r.offset;
      return undefined;
    case "drop":
    case "dup": {
      if (f.length !== undefined) {
        p.at = r.offset;
        p.end = r.offset + f.length;
        return undefined;
      }
      const c = view.chunkAt(f.at);
      if (!c) return r.offset; // wait at the chunk's start until its end is known
      p.at = c.offset;
      p.end = c.offset + c.size;
      return undefined;
    }
    case "flip": {
      let at = r.offset;
      let bit = f.bit;
      let label = `bit ${bit} of byte ${at}`;
      if (r.field && f.at.kind === "field" && f.at.plus === 0) {
        if (bit >= r.field.size * 8) {
          throw new FaultSpecError(
            `bit ${bit} is outside ${r.field.path} (${r.field.size * 8} bits)`,
            p.word,
          );
        }
        at = r.offset + r.field.size - 1 - (bit >> 3);
        label = `bit ${bit} of field ${r.field.path}`;
        bit &= 7;
      } else if (bit > 7) throw new FaultSpecError(`bit ${bit} is not 0..7`, p.word);
      p.at = at;
      p.patch = { length: 1, apply: (old) => Uint8Array.of(old[0] ^ (1 << bit)), label };
      return undefined;
    }
    case "set":
      p.at = r.offset;
      p.patch = { length: 1, apply: () => Uint8Array.of(f.value), label: "byte rewritten" };
      return undefined;
    case "write":
      p.at = r.offset;
      p.patch = {
        length: f.bytes.length,
        apply: () => f.bytes,
        label: `${f.bytes.length} byte${f.bytes.length === 1 ? "" : "s"} rewritten`,
      };
      return undefined;
  }
}

/** One line for a fault event. */
export function formatEvent(e: FaultEvent): string {
  return `${e.fault}: ${e.detail} at ${describeOffset(e.where)}`;
}

/** Resolve every fault against a view that knows the whole stream: wrong names fail here. */
export function checkFaults(view: StreamView, faults: readonly Fault[]): void {
  for (const fault of faults) resolveOne({ fault, word: formatFault(fault), done: false }, view);
}
