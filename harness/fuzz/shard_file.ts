/**
 * A campaign's machine-readable result (`campaign.json` in its `--out` directory), and `fuzz
 * merge`: shards run anywhere (a CI matrix, Kubernetes Jobs, Slurm) join into the result of the
 * single-machine campaign: counts summed, findings deduplicated by signature, the smallest recipe
 * kept. Mixed seeds, bases or iteration counts and missing or duplicated shards are refused.
 * @module
 */
import { sha256Hex } from "../../migration/corrupt/recipe.ts";
import type { CorruptOp } from "../../migration/corrupt/ops.ts";
import { type CaseClass, type ClassCounts, emptyCounts } from "./classes.ts";
import type { BugReport, CampaignResult, Shard } from "./campaign.ts";

/** Name of the result file in an output directory. */
export const SHARD_FILE = "campaign.json";

/** One finding of a shard file: a bug report plus its signature. */
export interface ShardFinding extends BugReport {
  signature: string;
}

/** What `campaign.json` holds. */
export interface ShardFile {
  format: "snapshell-fuzz-shard";
  version: 1;
  seed: number;
  iterations: number;
  /** Absent: the whole campaign (shard 1/1). */
  shard: Shard;
  baseSha256: string;
  baseBytes: number;
  counts: ClassCounts;
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
  r: Pick<BugReport, "class" | "phase" | "error" | "detail">,
): string {
  return [r.class, r.phase ?? "", r.error ?? "", (r.detail ?? "").replace(/0x[0-9a-f]+|\d+/gi, "#")]
    .join("|");
}

/** Write `dir/campaign.json` for a finished (not cancelled) campaign. */
export async function writeShardFile(
  dir: string,
  r: CampaignResult,
  base: Uint8Array,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const file: ShardFile = {
    format: "snapshell-fuzz-shard",
    version: 1,
    seed: r.seed,
    iterations: r.iterations,
    shard: r.shard ?? { k: 1, n: 1 },
    baseSha256: sha256Hex(base),
    baseBytes: base.length,
    counts: r.counts,
    bugs: r.bugs,
    findings: r.reports.map((x) => ({ ...x, signature: reportSignature(x) })),
  };
  await Deno.writeTextFile(`${dir}/${SHARD_FILE}`, JSON.stringify(file, null, 2) + "\n");
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
  return f;
}

/** The merged campaign: what a single machine would have reported. */
export interface MergedCampaign {
  seed: number;
  iterations: number;
  baseSha256: string;
  counts: ClassCounts;
  bugs: number;
  /** One per signature: first case index, summed occurrences, the smallest recipe. */
  findings: ShardFinding[];
  dirs: string[];
}

const smaller = (a: CorruptOp[], b: CorruptOp[]) =>
  a.length !== b.length ? a.length < b.length : JSON.stringify(a) < JSON.stringify(b);

/** Join shard directories into one campaign; throws FuzzMergeError when they are not one. */
export async function mergeShards(dirs: string[]): Promise<MergedCampaign> {
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
  if (missing.length) {
    throw new FuzzMergeError(
      `shard${missing.length > 1 ? "s" : ""} ${
        missing.map((k) => `${k}/${first.shard.n}`).join(", ")
      } missing`,
    );
  }
  const counts = emptyCounts();
  let bugs = 0;
  const bySig = new Map<string, ShardFinding>();
  for (const f of files) {
    for (const c of Object.keys(counts) as CaseClass[]) counts[c] += f.counts[c] ?? 0;
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
    baseSha256: first.baseSha256,
    counts,
    bugs,
    findings: [...bySig.values()].sort((a, b) => a.index - b.index),
    dirs,
  };
}
