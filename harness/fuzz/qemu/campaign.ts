/**
 * A fuzz campaign against QEMU: case `i` of seed `s` is the same structure-aware recipe as in
 * snapshell's own campaigns (harness/fuzz/cases.ts), built exactly (no pre-parsed RAM) and loaded
 * into a fresh warm QEMU on each lane of a pool. Crashes, hangs and (with a differential oracle)
 * disagreements are grouped by signature, confirmed on a new QEMU, shrunk to the smallest recipe
 * that keeps the class and the signature, and saved as stream + recipe + the command that
 * reproduces it against a stock QEMU. Shards and `campaign.json` work as in snapshell's campaigns.
 * @module
 */
import { type FindingRecord, writeFinding } from "../finding_file.ts";
import type { CorruptOp } from "../../../migration/corrupt/ops.ts";
import { CaseMaker } from "../cases.ts";
import { type Shard, shardRange } from "../campaign.ts";
import { shrinkRecipe } from "../shrink.ts";
import { writeShardFile } from "../shard_file.ts";
import {
  emptyQemuCounts,
  isQemuFinding,
  normalise,
  type QemuCounts,
  type QemuOutcome,
  qemuSignature,
} from "./outcome.ts";
import { QemuPool } from "./pool.ts";
import { usesIcount } from "./progress.ts";
import { type CaseBounds, DEFAULT_RUN_INSNS } from "./run_case.ts";
import { shellWord } from "./shell_word.ts";
import type { QemuVia } from "./inlet.ts";

/** A second opinion on a case (`--differential`): a disagreement outcome, or undefined. */
export type Oracle =
  & ((bytes: Uint8Array, qemu: QemuOutcome) => Promise<QemuOutcome | undefined>)
  & {
    /** The oracle compares states: QEMU migrates each loaded case back out (`resaved`). */
    resave?: boolean;
    /** Learns from QEMU's verdict on the unmodified stream (what already differs there). */
    calibrate?: (base: QemuOutcome) => Promise<void>;
    /** What `calibrate` found differing in the unmodified stream (for the report). */
    baseDifferences?: string[];
  };

/** Settings of a campaign against QEMU. */
export interface QemuCampaignOptions extends CaseBounds {
  /** QEMU program and machine arguments. */
  argv: readonly string[];
  iterations: number;
  seed: number;
  /** Cases run at once (each on its own warm QEMU; default 2). */
  lanes?: number;
  /**
   * QEMUs starting or warm ahead of the cases (default {@link DEFAULT_WARM_PER_LANE} per lane: a
   * start takes longer than most cases, so one per lane would leave the lanes waiting).
   */
  warm?: number;
  /** Back each QEMU's heap with huge pages (default true: a third less CPU per start). */
  hugeHeap?: boolean;
  /** How each case reaches its QEMU (default tcp; inlet.ts). */
  via?: QemuVia;
  /** Told each case's index and outcome as it is classified (in completion order). */
  onCase?: (index: number, outcome: QemuOutcome) => void;
  /** Most operations per case (default 3). */
  maxOps?: number;
  shard?: Shard;
  outDir?: string;
  baseName?: string;
  /** Distinct findings to confirm, shrink and save (default 20). */
  maxReports?: number;
  /** QEMU runs allowed for shrinking one finding (default 60). */
  shrinkBudget?: number;
  /** Compares each case with another loader; its disagreements are findings. */
  oracle?: Oracle;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One distinct finding against QEMU. */
export interface QemuFinding extends FindingRecord {
  class: string;
  signature: string;
  phase?: string;
  detail?: string;
  exit?: string;
  ours?: string;
  /** The shell command that reproduces it against a stock QEMU. */
  reproduce?: string;
}

/** What a campaign against QEMU found. */
export interface QemuCampaignResult {
  seed: number;
  iterations: number;
  shard?: Shard;
  casesRun: number;
  cancelled: boolean;
  lanes: number;
  counts: QemuCounts;
  /** Cases that were findings. */
  bugs: number;
  /**
   * Cases the wall-clock safety net ended before the guest's progress decided them (their class
   * is what was seen by then); 0 on a host that let QEMU run.
   */
  safetyNet: number;
  /**
   * Of those, runs ended because QEMU's vCPU spun without executing a guest instruction
   * (run_case.ts `SPIN_CPU_SECONDS`): a QEMU livelock, decided without waiting for the net.
   */
  spinning: number;
  /** With `--differential`: which oracle (whole streams in `qemu-virt`, or modelled sections). */
  oracle?: "whole-stream" | "sections";
  /** Sections (and how many bytes) already differing for the unmodified stream: not compared. */
  baseDifferences?: string[];
  reports: QemuFinding[];
  /** QEMU's distinct rejection texts (normalised) and how many cases each. */
  rejections: Record<string, number>;
  seconds: number;
  /** QEMU loads per wall-clock second. */
  runsPerSecond: number;
  /** Mean milliseconds from spawn to waiting on a port. */
  startMs: number;
  savedTo?: string;
}

/** The base stream QEMU refused or could not take: nothing to measure mutations against. */
export class QemuBaseError extends Error {
  /** The seed or the QEMU arguments do not fit together. */
  readonly kind = "incompatible";
  constructor(readonly outcome: QemuOutcome) {
    super(
      `QEMU does not accept the unmodified stream (${outcome.class}` +
        `${outcome.detail ? `: ${outcome.detail}` : ""}); check the QEMU arguments match the ` +
        "machine that made it",
    );
    this.name = "QemuBaseError";
  }
}

export { shellWord };

/**
 * The command that loads `file` into a stock QEMU the way the campaign did: paused (`-S`), the
 * stream through `exec:cat`, then `cont` over QMP on stdio once it is in (QEMU's autostart path,
 * without `-S`, is not the same path: a crash after `cont` may not show there). It prints QEMU's
 * exit status (134 abort, 139 segfault).
 */
export function reproduceCommand(argv: readonly string[], file: string): string {
  const display = argv.includes("-nographic") || argv.includes("-display")
    ? []
    : ["-display", "none"];
  const qemu = [...argv, ...display, "-S", "-incoming", `exec:cat ${file}`, "-qmp", "stdio"]
    .map(shellWord).join(" ");
  return `(echo '{"execute":"qmp_capabilities"}'; sleep 3; echo '{"execute":"cont"}'; sleep 2) | ` +
    `${qemu} >/dev/null; echo "exit $?"`;
}

const MAX_REJECTION_TEXTS = 500;

/** QEMUs started ahead per lane by default (measured in docs/benchmarks.md). */
export const DEFAULT_WARM_PER_LANE = 3;

/** Run a campaign against QEMU over `base` (a stream QEMU accepts with `argv`). */
export async function runQemuCampaign(
  base: Uint8Array,
  opts: QemuCampaignOptions,
): Promise<QemuCampaignResult> {
  const seed = opts.seed >>> 0;
  const lanes = Math.max(1, opts.lanes ?? 2);
  const maker = await CaseMaker.create(base, opts.maxOps ?? 3);
  const pool = await QemuPool.create({
    ...opts,
    warm: Math.max(1, opts.warm ?? DEFAULT_WARM_PER_LANE * lanes),
    hugeHeap: opts.hugeHeap ?? true,
    resave: opts.oracle?.resave,
  });
  try {
    const check = await pool.run(base);
    if (check.class !== "accepted" && check.class !== "stopped") throw new QemuBaseError(check);
    await opts.oracle?.calibrate?.(check);
    // A guest whose unmodified stream writes to its console after cont must keep writing.
    const baseline = check.class === "accepted" ? check.consoleBytes ?? 0 : 0;
    const budget = usesIcount(opts.argv)
      ? `${opts.runInsns ?? DEFAULT_RUN_INSNS} guest instructions`
      : `${opts.runMs ?? 300} ms`;
    const judge = async (bytes: Uint8Array) => {
      const { resaved, ...run } = await pool.run(bytes);
      const o = silent(run, baseline, budget);
      return (await opts.oracle?.(bytes, resaved ? { ...o, resaved } : o)) ?? o;
    };
    const { from, to } = shardRange(opts.iterations, opts.shard);
    const counts = emptyQemuCounts();
    const rejections: Record<string, number> = {};
    const candidates: { index: number; ops: CorruptOp[]; outcome: QemuOutcome }[] = [];
    let safetyNet = 0;
    let spinning = 0;
    let next = from;
    let done = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (next < to && !opts.signal?.aborted) {
        const i = next++;
        const c = await maker.make(seed, i, true);
        const outcome = await judge(c.input as Uint8Array);
        counts[outcome.class]++;
        opts.onCase?.(i, outcome);
        if (outcome.safetyNet) safetyNet++;
        if (outcome.spinning) spinning++;
        if (outcome.class === "rejected") {
          const key = normalise(outcome.detail ?? "");
          if (key in rejections || Object.keys(rejections).length < MAX_REJECTION_TEXTS) {
            rejections[key] = (rejections[key] ?? 0) + 1;
          }
        }
        if (isQemuFinding(outcome.class)) candidates.push({ index: i, ops: c.ops, outcome });
        done++;
        opts.onProgress?.(done, to - from);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    const seconds = (performance.now() - t0) / 1000;
    const cancelled = opts.signal?.aborted ?? false;
    const reports = await findings(candidates, opts, cancelled, maker, base, judge);
    const result: QemuCampaignResult = {
      seed,
      iterations: opts.iterations,
      ...(opts.shard ? { shard: opts.shard } : {}),
      casesRun: done,
      cancelled,
      lanes,
      counts,
      bugs: candidates.length,
      safetyNet,
      spinning,
      ...(opts.oracle
        ? {
          oracle: opts.oracle.resave ? "whole-stream" : "sections",
          baseDifferences: opts.oracle.baseDifferences ?? [],
        }
        : {}),
      reports,
      rejections,
      seconds,
      runsPerSecond: seconds > 0 ? done / seconds : 0,
      startMs: pool.starts ? pool.startMs / pool.starts : 0,
      ...(opts.outDir ? { savedTo: opts.outDir } : {}),
    };
    if (opts.outDir && !cancelled) await writeShardFile(opts.outDir, result, base, "qemu");
    return result;
  } finally {
    await pool.close();
  }
}

/**
 * An accepted case whose guest wrote nothing after `cont` in the whole run (`budget`, e.g. "5000000
 * guest instructions"), where the unmodified stream's did: stopped. A run the safety net cut
 * short is left as it is (too little ran to tell).
 */
export function silent(o: QemuOutcome, baseline: number, budget: string): QemuOutcome {
  if (o.class !== "accepted" || baseline === 0 || (o.consoleBytes ?? 0) > 0) return o;
  if (o.safetyNet) return o;
  const ran = o.idle ? `, then the guest went idle for good` : "";
  return {
    ...o,
    class: "stopped",
    detail: `status running, but the guest wrote nothing in ${budget} after cont${ran} ` +
      `(the unmodified stream: ${baseline} bytes)`,
  };
}

async function findings(
  candidates: { index: number; ops: CorruptOp[]; outcome: QemuOutcome }[],
  opts: QemuCampaignOptions,
  cancelled: boolean,
  maker: CaseMaker,
  base: Uint8Array,
  judge: (bytes: Uint8Array) => Promise<QemuOutcome>,
): Promise<QemuFinding[]> {
  const groups = new Map<string, { first: (typeof candidates)[number]; count: number }>();
  for (const c of candidates.sort((a, b) => a.index - b.index)) {
    const sig = qemuSignature(c.outcome);
    const g = groups.get(sig);
    if (g) g.count++;
    else groups.set(sig, { first: c, count: 1 });
  }
  const reports: QemuFinding[] = [];
  for (const [signature, { first, count }] of groups) {
    const o = first.outcome;
    const r: QemuFinding = {
      class: o.class,
      signature,
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.detail ? { detail: o.detail } : {}),
      ...(o.exit ? { exit: o.exit } : {}),
      ...(o.ours ? { ours: o.ours } : {}),
      index: first.index,
      occurrences: count,
      ops: first.ops,
      originalOps: first.ops,
      confirmed: false,
    };
    reports.push(r);
    // After Ctrl-C nothing more runs; past the report limit findings are counted, not shrunk.
    if (cancelled || reports.length > (opts.maxReports ?? 20)) continue;
    const shrunk = await shrinkFinding(first.ops, signature, judge, maker, opts.shrinkBudget);
    r.confirmed = shrunk !== undefined;
    if (shrunk) r.ops = shrunk;
    if (opts.outDir) await save(r, reports.length, opts, maker, base);
  }
  return reports;
}

/**
 * Confirm a finding on a fresh QEMU and shrink its recipe to the smallest one whose outcome has
 * the same signature (class and normalised crash text or signal); undefined when it does not
 * reproduce.
 */
export async function shrinkFinding(
  ops: CorruptOp[],
  signature: string,
  judge: (bytes: Uint8Array) => Promise<QemuOutcome>,
  maker: CaseMaker,
  budget = 60,
): Promise<CorruptOp[] | undefined> {
  const same = async (candidate: CorruptOp[]) => {
    try {
      return qemuSignature(await judge(await maker.build(candidate))) === signature;
    } catch {
      return false; // a recipe that no longer applies
    }
  };
  if (!(await same(ops))) return undefined;
  return (await shrinkRecipe(ops, same, maker.base.length, budget)).ops;
}

async function save(
  r: QemuFinding,
  n: number,
  opts: QemuCampaignOptions,
  maker: CaseMaker,
  base: Uint8Array,
): Promise<void> {
  const dir = opts.outDir!;
  const name = `qemu-${String(n).padStart(3, "0")}-${r.class}`;
  r.file = `${dir}/${name}.bin`;
  r.reproduce = reproduceCommand(opts.argv, r.file);
  const files = await writeFinding({
    dir,
    name,
    base,
    baseName: opts.baseName,
    ops: r.ops,
    bytes: await maker.build(r.ops),
    note: {
      target: "qemu",
      class: r.class,
      signature: r.signature,
      detail: r.detail,
      exit: r.exit,
      confirmed: r.confirmed,
      seed: opts.seed >>> 0,
      caseIndex: r.index,
      occurrences: r.occurrences,
      originalOps: r.originalOps,
      reproduce: r.reproduce,
    },
  });
  r.recipeFile = files.recipeFile;
}
