/**
 * A fuzz campaign: cases `0..N-1` of one seed over a base snapshot, run on every core (Web
 * Workers) or in this thread, counted per class. Bug candidates are grouped by what went wrong,
 * confirmed on a brand-new machine with the unmodified bytes, shrunk to a minimal recipe and
 * saved as stream + recipe, so `corrupt BASE OUT --recipe FILE` rebuilds each one.
 * @module
 */
import { type FindingRecord, writeFinding } from "./finding_file.ts";
import type { CorruptOp } from "../../migration/corrupt/ops.ts";
import type { MachineFactory } from "../replay/fork.ts";
import { loadFresh } from "../replay/replay.ts";
import { CaseMaker } from "./cases.ts";
import {
  type CaseClass,
  type CaseOutcome,
  type ClassCounts,
  emptyCounts,
  isBug,
} from "./classes.ts";
import { FuzzPool, type PoolTotals } from "./pool.ts";
import type { BugCandidate, WorkerSettings } from "./protocol.ts";
import { shrinkRecipe } from "./shrink.ts";
import { FuzzTarget } from "./target.ts";
import type { FuzzVia } from "./via.ts";
import { writeShardFile } from "./shard_file.ts";

/** Campaign settings. */
export interface CampaignOptions {
  /** Cases to run. */
  iterations: number;
  /** Campaign seed: case i is the same recipe for the same seed. */
  seed: number;
  /** Web Workers to use; 0 runs everything in this thread. */
  workers: number;
  /** Most operations per case (default 3). */
  maxOps?: number;
  /** Instructions an accepted case runs (default 10,000). */
  runInsns?: number;
  /** Wall-clock budget of that run before it counts as a hang (default 2,000 ms). */
  runBudgetMs?: number;
  /** A worker silent this long is stuck in a hang (default 10,000 ms). */
  hangMs?: number;
  /** Cases per work unit (default 1,000). */
  chunk?: number;
  /** Where to save bug streams and recipes (nothing is saved without it). */
  outDir?: string;
  /** Name of the base stream in saved recipes. */
  baseName?: string;
  /** Distinct bugs to confirm, shrink and save (default 20). */
  maxReports?: number;
  /** Exact runs allowed for shrinking one bug (default 200). */
  shrinkBudget?: number;
  /** Called as cases finish. */
  onProgress?: (done: number, total: number) => void;
  /** Machine builder (in-thread campaigns only: functions cannot go to workers). */
  makeMachine?: MachineFactory;
  /** Test hook: workers hang at this case index (see {@link WorkerSettings.stallAt}). */
  stallAt?: number;
  /** How cases reach the loader: memory (default), a TCP socket or a pipe (`fuzz --via`). */
  via?: FuzzVia;
  /** Run only shard `k` of `n` (a contiguous slice of the case indices; see {@link shardRange}). */
  shard?: Shard;
  /** Stops the campaign: the result is partial and says so (`cancelled`). */
  signal?: AbortSignal;
}

/** Shard `k` (1-based) of `n`: one machine's slice of a campaign. */
export interface Shard {
  k: number;
  n: number;
}

/** Cases `[from, to)` of shard `k`/`n` of `iterations` cases: the shards cover them exactly once. */
export function shardRange(iterations: number, shard?: Shard): { from: number; to: number } {
  if (!shard) return { from: 0, to: iterations };
  return {
    from: Math.floor(((shard.k - 1) * iterations) / shard.n),
    to: Math.floor((shard.k * iterations) / shard.n),
  };
}

/** One distinct bug, confirmed and shrunk. */
export interface BugReport extends FindingRecord {
  class: CaseClass;
  phase?: string;
  error?: string;
  detail?: string;
}

/** What a campaign found. */
export interface CampaignResult {
  seed: number;
  iterations: number;
  workers: number;
  counts: ClassCounts;
  /** Cases classed as bugs. */
  bugs: number;
  reports: BugReport[];
  seconds: number;
  /** Cases (one load each) per wall-clock second. */
  loadsPerSecond: number;
  /** Cases per second of worker time: the throughput of one core. */
  loadsPerSecondPerCore: number;
  /** Cases per second of this process's CPU time (all threads): per core, whatever else runs. */
  loadsPerCpuSecond: number;
  /** Share of cases that loaded their RAM chunks pre-parsed. */
  preParsed: number;
  /** Where bugs were saved. */
  savedTo?: string;
  /** The shard this run covered (absent: the whole campaign). */
  shard?: Shard;
  /** Cases actually run (fewer than the slice when cancelled). */
  casesRun: number;
  /** Stopped by its signal: counts and bugs are of the cases run so far. */
  cancelled: boolean;
}

/** What went wrong, without the numbers that vary between occurrences. */
export function bugSignature(o: CaseOutcome): string {
  return [o.class, o.phase ?? "", o.error ?? "", (o.detail ?? "").replace(/0x[0-9a-f]+|\d+/gi, "#")]
    .join("|");
}

async function runInThread(
  base: Uint8Array,
  opts: CampaignOptions,
  settings: WorkerSettings,
  maker: CaseMaker,
): Promise<PoolTotals> {
  const target = await FuzzTarget.create(base, {
    runInsns: settings.runInsns,
    runBudgetMs: settings.runBudgetMs,
    makeMachine: opts.makeMachine,
    via: settings.via,
  });
  const totals: PoolTotals = { counts: emptyCounts(), bugs: [], preParsed: 0, busyMs: 0 };
  const t0 = performance.now();
  const { from, to } = shardRange(opts.iterations, opts.shard);
  try {
    for (let i = from; i < to; i++) {
      if (opts.signal?.aborted) break;
      const c = await maker.make(settings.seed, i);
      if (c.preParsed) totals.preParsed++;
      const outcome = await target.run(c.input, c.ramPreloaded ? maker.preload : undefined);
      totals.counts[outcome.class]++;
      if (isBug(outcome.class)) totals.bugs.push({ index: i, ops: c.ops, outcome });
      if ((i + 1 - from) % 256 === 0 || i + 1 === to) opts.onProgress?.(i + 1 - from, to - from);
    }
  } finally {
    await target.close();
  }
  totals.busyMs = performance.now() - t0;
  return totals;
}

/** Run a campaign over `base` (a stream that loads). */
export async function runCampaign(
  base: Uint8Array,
  opts: CampaignOptions,
): Promise<CampaignResult> {
  const settings: WorkerSettings = {
    seed: opts.seed >>> 0,
    maxOps: opts.maxOps ?? 3,
    runInsns: opts.runInsns ?? 10_000,
    runBudgetMs: opts.runBudgetMs ?? 2_000,
    ...(opts.stallAt === undefined ? {} : { stallAt: opts.stallAt }),
    ...(opts.via === undefined || opts.via === "memory" ? {} : { via: opts.via }),
  };
  // The base must load, or every case would be measured against nothing: its typed error, now.
  await loadFresh(base, opts.makeMachine);
  const maker = await CaseMaker.create(base, settings.maxOps);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let totals: PoolTotals;
  let pool: FuzzPool | undefined;
  let exact: (ops: CorruptOp[]) => Promise<CaseOutcome>;
  let exactTarget: FuzzTarget | undefined;
  try {
    if (opts.workers > 0) {
      let done = 0;
      const { from, to } = shardRange(opts.iterations, opts.shard);
      pool = await FuzzPool.start(base, settings, opts.workers, opts.hangMs ?? 10_000, (n) => {
        done += n;
        opts.onProgress?.(done, to - from);
      });
      totals = await pool.run(from, to, opts.chunk ?? 1_000, opts.signal);
      const p = pool;
      exact = (ops) => p.exact(ops);
    } else {
      totals = await runInThread(base, opts, settings, maker);
      const target = await FuzzTarget.create(base, {
        runInsns: settings.runInsns,
        runBudgetMs: settings.runBudgetMs,
        makeMachine: opts.makeMachine,
        exact: true,
        via: settings.via,
      });
      exactTarget = target;
      exact = async (ops) => target.run(await maker.build(ops));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const cancelled = opts.signal?.aborted ?? false;
    const n = Object.values(totals.counts).reduce((a, b) => a + b, 0);
    // A cancelled campaign reports what it saw, unconfirmed: no more runs after Ctrl-C.
    const reports = cancelled
      ? unconfirmed(totals.bugs)
      : await report(totals.bugs, opts, settings, maker, exact, base);
    const result: CampaignResult = {
      seed: settings.seed,
      iterations: opts.iterations,
      casesRun: n,
      cancelled,
      ...(opts.shard ? { shard: opts.shard } : {}),
      workers: opts.workers,
      counts: totals.counts,
      bugs: totals.bugs.length,
      reports,
      seconds,
      loadsPerSecond: seconds > 0 ? n / seconds : 0,
      loadsPerSecondPerCore: totals.busyMs > 0 ? n / (totals.busyMs / 1000) : 0,
      loadsPerCpuSecond: cpuSeconds > 0 ? n / cpuSeconds : 0,
      preParsed: n ? totals.preParsed / n : 0,
      ...(opts.outDir ? { savedTo: opts.outDir } : {}),
    };
    if (opts.outDir && !cancelled) await writeShardFile(opts.outDir, result, base);
    return result;
  } finally {
    pool?.close();
    await exactTarget?.close();
  }
}

/** Bug candidates grouped by signature, as seen (a cancelled campaign runs nothing more). */
function unconfirmed(candidates: BugCandidate[]): BugReport[] {
  const groups = new Map<string, BugReport>();
  for (const c of candidates.sort((a, b) => a.index - b.index)) {
    const sig = bugSignature(c.outcome);
    const g = groups.get(sig);
    if (g) g.occurrences++;
    else {
      const o = c.outcome;
      groups.set(sig, {
        class: o.class,
        ...(o.phase ? { phase: o.phase } : {}),
        ...(o.error ? { error: o.error } : {}),
        ...(o.detail ? { detail: o.detail } : {}),
        index: c.index,
        occurrences: 1,
        ops: c.ops,
        originalOps: c.ops,
        confirmed: false,
      });
    }
  }
  return [...groups.values()];
}

async function report(
  candidates: BugCandidate[],
  opts: CampaignOptions,
  settings: WorkerSettings,
  maker: CaseMaker,
  exact: (ops: CorruptOp[]) => Promise<CaseOutcome>,
  base: Uint8Array,
): Promise<BugReport[]> {
  const groups = new Map<string, { first: BugCandidate; count: number }>();
  for (const c of candidates.sort((a, b) => a.index - b.index)) {
    const sig = bugSignature(c.outcome);
    const g = groups.get(sig);
    if (g) g.count++;
    else groups.set(sig, { first: c, count: 1 });
  }
  const reports: BugReport[] = [];
  for (const { first, count } of [...groups.values()].slice(0, opts.maxReports ?? 20)) {
    const originalOps = first.ops.length
      ? first.ops
      : (await maker.make(settings.seed, first.index, true)).ops;
    const confirmedOutcome = await exact(originalOps);
    const confirmed = isBug(confirmedOutcome.class);
    const outcome = confirmed ? confirmedOutcome : first.outcome;
    let ops = originalOps;
    if (confirmed) {
      const same = async (candidate: CorruptOp[]) => {
        try {
          const o = await exact(candidate);
          return o.class === outcome.class && o.error === outcome.error;
        } catch {
          return false; // a candidate that no longer applies
        }
      };
      ops = (await shrinkRecipe(originalOps, same, base.length, opts.shrinkBudget ?? 200)).ops;
    }
    const r: BugReport = {
      class: outcome.class,
      ...(outcome.phase ? { phase: outcome.phase } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.detail ? { detail: outcome.detail } : {}),
      index: first.index,
      occurrences: count,
      ops,
      originalOps,
      confirmed,
    };
    if (opts.outDir) await save(r, reports.length + 1, opts, settings, maker, base);
    reports.push(r);
  }
  return reports;
}

async function save(
  r: BugReport,
  n: number,
  opts: CampaignOptions,
  settings: WorkerSettings,
  maker: CaseMaker,
  base: Uint8Array,
): Promise<void> {
  const files = await writeFinding({
    dir: opts.outDir!,
    name: `bug-${String(n).padStart(3, "0")}-${r.class}`,
    base,
    baseName: opts.baseName,
    ops: r.ops,
    bytes: await maker.build(r.ops),
    note: {
      class: r.class,
      phase: r.phase,
      error: r.error,
      detail: r.detail,
      confirmed: r.confirmed,
      seed: settings.seed,
      caseIndex: r.index,
      occurrences: r.occurrences,
      originalOps: r.originalOps,
    },
  });
  r.file = files.file;
  r.recipeFile = files.recipeFile;
}
