/**
 * A campaign's machine-readable result (`campaign.json` in its `--out` directory), and `fuzz
 * merge`: shards run anywhere (a CI matrix, Kubernetes Jobs, Slurm) join into the result of the
 * single-machine campaign: counts summed, findings deduplicated by signature, the smallest recipe
 * kept. Mixed seeds, bases or iteration counts and missing or duplicated shards are refused.
 * @module
 */
import { sha256Hex } from "../../migration/corrupt/recipe.ts";
import type { CorruptOp } from "../../migration/corrupt/ops.ts";
import { writeFileDurable } from "../../migration/stream/durable_file.ts";
import type { CaseClass } from "./classes.ts";
import type { BugReport, Shard } from "./campaign.ts";

/** Name of the result file in an output directory. */
export const SHARD_FILE = "campaign.json";

/** One finding of a shard file: a bug report plus its signature. */
export interface ShardFinding extends Omit<BugReport, "class"> {
  /** The outcome class (snapshell's loader: a {@link CaseClass}; QEMU: a QEMU outcome). */
  class: CaseClass | string;
  signature: string;
}

/** Which loader a campaign aimed at: ours (`snapshell`, absent in older files) or QEMU's. */
export type FuzzTargetName = "snapshell" | "qemu";

/** What a finished campaign (or one shard of it) hands to {@link writeShardFile}. */
export interface ShardResult {
  seed: number;
  iterations: number;
  shard?: Shard;
  counts: Readonly<Record<string, number>>;
  bugs: number;
  reports: (Omit<BugReport, "class"> & { class: string; signature?: string })[];
}

/** What `campaign.json` holds. */
export interface ShardFile {
  format: "snapshell-fuzz-shard";
  version: 1;
  seed: number;
  iterations: number;
  /** Absent: the whole campaign (shard 1/1). */
  shard: Shard;
  /** The loader under test (absent: snapshell's). */
  target?: FuzzTargetName;
  baseSha256: string;
  baseBytes: number;
  /** Cases per outcome class (the classes of the target). */
  counts: Record<string, number>;
  bugs: number;
  findings: ShardFinding[];
}

/** Merge input that cannot be joined: names the directory and why. */
export class FuzzMergeError extends Error {
  /** Always a usage problem: the directories given do not form one campaign. */
  readonly kind = "incompatible";
  constructor(message: string, readonly dir?: string) {
    super(dir ? `${dir}: ${message}` : message);
    this.name = "FuzzMergeError";
  }
}

/** Signature of a report (the same fields as campaign's bugSignature). */
export function reportSignature(
  r: Pick<BugReport, "phase" | "error" | "detail"> & { class: string },
): string {
  return [r.class, r.phase ?? "", r.error ?? "", (r.detail ?? "").replace(/0x[0-9a-f]+|\d+/gi, "#")]
    .join("|");
}

/** Write `dir/campaign.json` for a finished (not cancelled) campaign. */
export async function writeShardFile(
  dir: string,
  r: ShardResult,
  base: Uint8Array,
  target: FuzzTargetName = "snapshell",
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const file: ShardFile = {
    format: "snapshell-fuzz-shard",
    version: 1,
    seed: r.seed,
    iterations: r.iterations,
    shard: r.shard ?? { k: 1, n: 1 },
    ...(target === "snapshell" ? {} : { target }),
    baseSha256: sha256Hex(base),
    baseBytes: base.length,
    counts: r.counts,
    bugs: r.bugs,
    findings: r.reports.map((x) => ({ ...x, signature: x.signature ?? reportSignature(x) })),
  };
  await writeFileDurable(
    `${dir}/${SHARD_FILE}`,
    new TextEncoder().encode(JSON.stringify(file, null, 2) + "\n"),
  );
}

async function readShardFile(dir: string): Promise<ShardFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${SHARD_FILE}`);
  } catch {
    throw new FuzzMergeError(`no ${SHARD_FILE} (not a finished fuzz --out directory)`, dir);
  }
  let f: ShardFile;
  try {
    f = JSON.parse(text);
  } catch {
    throw new FuzzMergeError(`${SHARD_FILE} is not JSON`, dir);
  }
  if (f?.format !== "snapshell-fuzz-shard" || f.version !== 1) {
    throw new FuzzMergeError(`${SHARD_FILE} is not a fuzz shard file of version 1`, dir);
  }
  // Saved files sit next to campaign.json, wherever the batch system put the directory.
  const here = (p?: string) => p && `${dir}/${p.slice(p.lastIndexOf("/") + 1)}`;
  f.findings = (f.findings ?? []).map((x) => ({
    ...x,
    ...(x.file ? { file: here(x.file) } : {}),
    ...(x.recipeFile ? { recipeFile: here(x.recipeFile) } : {}),
  }));
  return f;
}

/** The merged campaign: what a single machine would have reported. */
export interface MergedCampaign {
  seed: number;
  iterations: number;
  /** The loader under test. */
  target: FuzzTargetName;
  baseSha256: string;
  baseBytes: number;
  counts: Record<string, number>;
  bugs: number;
  /** One per signature: first case index, summed occurrences, the smallest recipe. */
  findings: ShardFinding[];
  dirs: string[];
  /** Shards of the split not given (only with `partial`); empty for a whole campaign. */
  missing: number[];
  /** Cases the given shards cover. */
  cases: number;
}

const smaller = (a: CorruptOp[], b: CorruptOp[]) =>
  a.length !== b.length ? a.length < b.length : JSON.stringify(a) < JSON.stringify(b);

/**
 * Join shard directories into one campaign; throws FuzzMergeError when they are not one. With
 * `partial`, missing shards are allowed (a batch whose jobs did not all finish) and listed.
 */
export async function mergeShards(dirs: string[], partial = false): Promise<MergedCampaign> {
  if (!dirs.length) throw new FuzzMergeError("fuzz merge needs at least one directory");
  const files = await Promise.all(dirs.map(readShardFile));
  const first = files[0];
  const seen = new Map<number, string>();
  for (const [i, f] of files.entries()) {
    const dir = dirs[i];
    if (f.seed !== first.seed) {
      throw new FuzzMergeError(`seed ${f.seed}, not ${first.seed} as in ${dirs[0]}`, dir);
    }
    if (f.baseSha256 !== first.baseSha256) {
      throw new FuzzMergeError(`another base stream than ${dirs[0]}'s`, dir);
    }
    if ((f.target ?? "snapshell") !== (first.target ?? "snapshell")) {
      throw new FuzzMergeError(
        `a campaign against ${f.target ?? "snapshell"}, not ${first.target ?? "snapshell"}`,
        dir,
      );
    }
    if (f.iterations !== first.iterations) {
      throw new FuzzMergeError(`${f.iterations} iterations, not ${first.iterations}`, dir);
    }
    if (f.shard.n !== first.shard.n) {
      throw new FuzzMergeError(
        `shard ${f.shard.k}/${f.shard.n} of another split than /${first.shard.n}`,
        dir,
      );
    }
    const dup = seen.get(f.shard.k);
    if (dup !== undefined) {
      throw new FuzzMergeError(`shard ${f.shard.k}/${f.shard.n} again (also in ${dup})`, dir);
    }
    seen.set(f.shard.k, dir);
  }
  const missing = Array.from({ length: first.shard.n }, (_, i) => i + 1).filter((k) =>
    !seen.has(k)
  );
  if (missing.length && !partial) {
    throw new FuzzMergeError(
      `shard${missing.length > 1 ? "s" : ""} ${
        missing.map((k) => `${k}/${first.shard.n}`).join(", ")
      } missing`,
    );
  }
  const counts: Record<string, number> = {};
  let bugs = 0;
  let cases = 0;
  const bySig = new Map<string, ShardFinding>();
  for (const f of files) {
    for (const [c, n] of Object.entries(f.counts)) {
      counts[c] = (counts[c] ?? 0) + n;
      cases += n;
    }
    bugs += f.bugs;
    for (const x of f.findings) {
      const g = bySig.get(x.signature);
      if (!g) {
        bySig.set(x.signature, { ...x });
        continue;
      }
      g.occurrences += x.occurrences;
      g.confirmed ||= x.confirmed;
      if (x.index < g.index) g.index = x.index;
      if (smaller(x.ops, g.ops)) {
        Object.assign(g, {
          ops: x.ops,
          originalOps: x.originalOps,
          file: x.file,
          recipeFile: x.recipeFile,
        });
      }
    }
  }
  return {
    seed: first.seed,
    iterations: first.iterations,
    target: first.target ?? "snapshell",
    baseSha256: first.baseSha256,
    baseBytes: first.baseBytes,
    counts,
    bugs,
    findings: [...bySig.values()].sort((a, b) => a.index - b.index),
    dirs,
    missing,
    cases,
  };
}

/**
 * Write a merged campaign into `dir` as one whole campaign (shard 1/1): its `campaign.json`, and
 * each finding's stream and recipe copied in, so `dir` reads like a single machine's `--out`.
 */
export async function writeMergedCampaign(dir: string, m: MergedCampaign): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const findings: ShardFinding[] = [];
  for (const [i, f] of m.findings.entries()) {
    const g = { ...f };
    const stem = `${dir}/bug-${String(i + 1).padStart(3, "0")}-${f.class}`;
    if (f.file) {
      await Deno.copyFile(f.file, `${stem}.bin`);
      g.file = `${stem}.bin`;
    }
    if (f.recipeFile) {
      await Deno.copyFile(f.recipeFile, `${stem}.recipe.json`);
      g.recipeFile = `${stem}.recipe.json`;
    }
    findings.push(g);
  }
  const file: ShardFile = {
    format: "snapshell-fuzz-shard",
    version: 1,
    seed: m.seed,
    iterations: m.iterations,
    shard: { k: 1, n: 1 },
    ...(m.target === "snapshell" ? {} : { target: m.target }),
    baseSha256: m.baseSha256,
    baseBytes: m.baseBytes,
    counts: m.counts,
    bugs: m.bugs,
    findings,
  };
  await writeFileDurable(
    `${dir}/${SHARD_FILE}`,
    new TextEncoder().encode(JSON.stringify(file, null, 2) + "\n"),
  );
}
