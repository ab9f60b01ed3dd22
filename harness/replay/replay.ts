/**
 * Replay: load a snapshot into a fresh machine, run it, and compare it with a reference (the
 * source machine's own continuation, or another snapshot) by raw state. The answer is
 * "identical", or the first divergence: which device and field, after how many instructions,
 * plus what each side printed. Checkpoints find the first interval where the states differ and
 * bisection narrows it to one instruction count.
 *
 * Nothing is forked up front: the checkpoints advance one pair, and when they find a difference
 * the sides are made again at the snapshot point and the interval before it is re-run (runs are
 * deterministic), so a replay that finds nothing costs two loads and the comparisons. Both sides run in
 * slices with turns for the event loop, so a caller sees progress and can cancel (Ctrl-C) and
 * still get a report of what was compared so far.
 *
 * This is how a field missing from a description is caught: the source keeps the field in its
 * record, the snapshot does not carry it, and the replayed device starts from its reset value,
 * so the two differ from instruction 0 in exactly that field.
 * @module
 */
import { hex } from "../../migration/format.ts";
import { probeRamLayout } from "../../migration/ram/probe.ts";
import { RAM_MAX_SIZE } from "../../emu/ram.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import type { VirtMachine } from "../../emu/virt.ts";
import { runInstructions } from "../run/guest_runner.ts";
import { forkMachine, type MachineFactory, plainMachine } from "./fork.ts";
import {
  compareMachines,
  type Comparison,
  sectionDifferences,
  type StateDifference,
} from "./state_diff.ts";

/** What to compare the replayed snapshot with. */
export type ReplayReference =
  /** A live machine (the snapshot's source); it is forked, never advanced. */
  | { kind: "machine"; machine: VirtMachine; name?: string }
  /** Another snapshot, loaded into its own fresh machine. */
  | { kind: "snapshot"; bytes: Uint8Array; name?: string };

/** Replay knobs. */
export interface ReplayOptions {
  /** Instructions each side retires. */
  insns: number;
  /** Comparison points before bisecting (default 8). */
  checkpoints?: number;
  /** Most differences listed at the divergence (default 16). */
  maxDifferences?: number;
  /** Builds the machines (replica, snapshot reference, forks); default: a plain virt machine. */
  makeMachine?: MachineFactory;
  /** Called as the checkpoints advance: instructions compared so far of `opts.insns`. */
  onProgress?(done: number, total: number): void;
  /** Stops the replay at the next slice; the report then covers what was compared so far. */
  signal?: AbortSignal;
  /** Instructions per slice between turns for the event loop (default 200,000). */
  sliceInsns?: number;
}

/** Default comparison points: each costs a comparison of every device and all of RAM. */
export const DEFAULT_CHECKPOINTS = 8;

/** Default slice of a replay run: a few ms of interpretation. */
export const DEFAULT_REPLAY_SLICE = 200_000;

/** Where and how the two sides first differ. */
export interface Divergence {
  /** Instructions run since the load when the states first differ (0 = right after loading). */
  insns: number;
  /** minstret of each side at that point. */
  instret: { reference: number; replay: number };
  /** The first difference (devices before the hart, the hart before RAM). */
  first: StateDifference;
  /** All differences found there (up to the limit). */
  differences: StateDifference[];
}

/** The outcome of a replay. */
export interface ReplayReport {
  /** No difference in what was compared (all of it unless `cancelled`). */
  identical: boolean;
  /** Instructions retired on both sides (fewer than asked when cancelled). */
  insns: number;
  /** True when the caller cancelled it: the report covers the first `insns` instructions. */
  cancelled: boolean;
  /** Points compared (checkpoints and bisection probes). */
  comparisons: number;
  divergence?: Divergence;
  /** What each side printed after the snapshot point, and where they first differ. */
  console: { reference: string; replay: string; firstDifference?: number };
}

/** A fresh machine holding `bytes`, sized from the stream's RAM block list. */
export async function loadFresh(
  bytes: Uint8Array,
  make: MachineFactory = plainMachine,
): Promise<VirtMachine> {
  const layout = await probeRamLayout(StreamReader.fromBytes(bytes), RAM_MAX_SIZE);
  const m = make({ ramSize: layout?.total });
  await m.load(StreamReader.fromBytes(bytes));
  return m;
}

interface Pair {
  ref: VirtMachine;
  rep: VirtMachine;
  /** Instructions run since the load. */
  at: number;
  make: MachineFactory;
}

function forkPair(p: Pair): Pair {
  return {
    ref: forkMachine(p.ref, p.make),
    rep: forkMachine(p.rep, p.make),
    at: p.at,
    make: p.make,
  };
}

/** Retire instructions on both sides until `to` since the load (synchronous: bisection). */
function advance(p: Pair, to: number): void {
  const n = to - p.at;
  if (n > 0) {
    runInstructions(p.ref, n);
    runInstructions(p.rep, n);
  }
  p.at = to;
}

const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** {@link advance} in slices with turns for the event loop; false when cancelled on the way. */
async function advanceSliced(
  p: Pair,
  to: number,
  slice: number,
  signal: AbortSignal | undefined,
  onStep: (at: number) => void,
): Promise<boolean> {
  while (p.at < to) {
    await nextTick();
    if (signal?.aborted) return false;
    advance(p, Math.min(to, p.at + slice));
    onStep(p.at);
  }
  return true;
}

function firstTextDifference(a: string, b: string): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}

/** Replay `snapshot` against `reference` for `opts.insns` instructions. */
export async function replay(
  snapshot: Uint8Array,
  reference: ReplayReference,
  opts: ReplayOptions,
): Promise<ReplayReport> {
  const make = opts.makeMachine ?? plainMachine;
  // Both sides at the snapshot point, made afresh: the reference machine never moves, and the
  // streams are deterministic, so the start can be rebuilt when a divergence needs re-running.
  const start = async (): Promise<Pair> => ({
    rep: await loadFresh(snapshot, make),
    ref: reference.kind === "machine"
      ? forkMachine(reference.machine, make)
      : await loadFresh(reference.bytes, make),
    at: 0,
    make,
  });
  const pair = await start();
  const { ref, rep } = pair;
  const limit = opts.maxDifferences ?? 16;
  const consoleStart = { ref: ref.consoleText.length, rep: rep.consoleText.length };
  const steps = Math.max(1, Math.min(opts.checkpoints ?? DEFAULT_CHECKPOINTS, opts.insns || 1));
  let comparisons = 0;
  const differ = (p: Pair) => {
    comparisons++;
    return compareMachines(p.ref, p.rep, limit);
  };
  let divergence: Divergence | undefined;
  let cancelled = false;
  let cmp = differ(pair);
  if (!cmp.equal) divergence = await describe(pair, cmp, limit);
  const slice = Math.max(1, opts.sliceInsns ?? DEFAULT_REPLAY_SLICE);
  const tell = (at: number) => opts.onProgress?.(at, opts.insns);
  let lastEqual = 0;
  for (let k = 1; k <= steps && !divergence; k++) {
    const target = Math.round((opts.insns * k) / steps);
    if (!await advanceSliced(pair, target, slice, opts.signal, tell)) {
      cancelled = true;
      break;
    }
    cmp = differ(pair);
    if (!cmp.equal) {
      // Re-run the last equal interval from the start, then bisect it.
      let saved = await start();
      advance(saved, lastEqual);
      let lo = lastEqual;
      let hi = target;
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        const probe = forkPair(saved);
        advance(probe, mid);
        if (!differ(probe).equal) hi = mid;
        else {
          lo = mid;
          saved = probe;
        }
      }
      const at = forkPair(saved);
      advance(at, hi);
      divergence = await describe(at, differ(at), limit);
    } else lastEqual = target;
  }
  if (divergence) advance(pair, opts.insns);
  const refOut = pair.ref.consoleText.slice(consoleStart.ref);
  const repOut = pair.rep.consoleText.slice(consoleStart.rep);
  const firstDifference = firstTextDifference(refOut, repOut);
  return {
    identical: !divergence && firstDifference === undefined,
    insns: cancelled ? lastEqual : opts.insns,
    cancelled,
    comparisons,
    ...(divergence ? { divergence } : {}),
    console: {
      reference: refOut,
      replay: repOut,
      ...(firstDifference === undefined ? {} : { firstDifference }),
    },
  };
}

function describe(p: Pair, cmp: Comparison, limit: number): Divergence {
  const differences = [
    ...cmp.uncovered.map((d) => ({ ...d, notInDescription: true })),
    ...sectionDifferences(p.ref, p.rep, cmp.sections, limit),
    ...(cmp.exit ? [cmp.exit] : []),
    ...(cmp.ramSize ? [cmp.ramSize] : []),
    ...cmp.pages.map((a) => ({
      device: "ram",
      path: `page ${hex(a)}`,
      reference: "",
      replay: "differs",
    })),
  ].slice(0, limit);
  return {
    insns: p.at,
    instret: { reference: p.ref.cpu.instret, replay: p.rep.cpu.instret },
    first: differences[0],
    differences,
  };
}

/** The report as text lines (what the command prints). */
export function renderReplay(r: ReplayReport, refName: string): string[] {
  const out: string[] = [];
  if (r.identical) {
    out.push(
      `replay: identical to ${refName} for ${r.insns} instructions retired (${r.comparisons} ` +
        `comparisons)${r.cancelled ? "; cancelled there, the rest was not compared" : ""}`,
    );
    return out;
  }
  const d = r.divergence;
  if (d) {
    const f = d.first;
    out.push(
      `replay: diverges from ${refName} after ${d.insns} instruction${d.insns === 1 ? "" : "s"}` +
        ` (minstret ${d.instret.reference} / ${d.instret.replay}): device ${f.device}, field ` +
        `${f.path || "(whole record)"}: reference ${f.reference}, replay ${f.replay}` +
        (f.notInDescription ? " (not in its description: the stream does not carry it)" : ""),
    );
    for (const x of d.differences.slice(1)) {
      out.push(`  also ${x.device} ${x.path}: reference ${x.reference}, replay ${x.replay}`);
    }
  } else {
    out.push(
      `replay: device state identical to ${refName} for ${r.insns} instructions retired` +
        (r.cancelled ? "; cancelled there, the rest was not compared" : ""),
    );
  }
  const c = r.console;
  if (c.firstDifference !== undefined) {
    const at = c.firstDifference;
    const show = (s: string) => JSON.stringify(s.slice(Math.max(0, at - 20), at + 40));
    out.push(`console differs at character ${at}: reference ${show(c.reference)}`);
    out.push(
      `${" ".repeat(`console differs at character ${at}: `.length)}replay    ${show(c.replay)}`,
    );
  } else if (c.reference.length) {
    out.push(`console: same output (${c.reference.length} characters)`);
  }
  return out;
}
