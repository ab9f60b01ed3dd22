/**
 * `fuzz FILE [--iterations N] [--seed S] [--workers W] [--shard K/N]`: mutate a snapshot with the
 * corrupt strategies, load every result into a fresh machine on every core, classify, and report
 * a summary table (or `--json`) plus each distinct bug, confirmed, shrunk and saved with its
 * recipe. `fuzz merge DIR...` joins the shards' `--out` directories. Ctrl-C stops a campaign with
 * a partial report. The work is in harness/fuzz.
 * @module
 */
import { runCampaign, type Shard } from "../../harness/fuzz/campaign.ts";
import { FuzzMergeError, mergeShards, writeMergedCampaign } from "../../harness/fuzz/shard_file.ts";
import { CASE_CLASSES, CLASS_MEANING, isBug } from "../../harness/fuzz/classes.ts";
import { FUZZ_VIAS, type FuzzVia } from "../../harness/fuzz/via.ts";
import { opWord } from "../../migration/corrupt/ops.ts";
import type { ShellContext } from "../session.ts";
import { differentialOracle } from "../../harness/fuzz/qemu/differential.ts";
import { wholeStreamOracle } from "../../harness/fuzz/qemu/whole_stream.ts";
import {
  qemuArgv,
  qemuBounds,
  qemuFuzzOptions,
  qemuRunOptions,
  runFuzzQemu,
  targetOption,
} from "./qemu_target.ts";
import { renderTable } from "../style.ts";
import { readStreamArg } from "../snapshot_io.ts";
import { EXIT_INTERRUPTED } from "../machine_text.ts";
import { countType, enumType, positiveCountType, seedType } from "./arg_types.ts";
import { type ArgType, type CommandDef, UsageError } from "./types.ts";

/** `K/N`, 1 <= K <= N: one machine's slice of a campaign (`--shard`). */
export const shardType: ArgType = {
  name: "k/n",
  parse(w, what = "--shard"): Shard {
    const m = /^(\d+)\/(\d+)$/.exec(w.trim());
    const k = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!m || n < 1 || k < 1 || k > n || n > 1_000_000) {
      throw new UsageError(`Invalid ${what} "${w}": use K/N with 1 <= K <= N (e.g. 2/8)`);
    }
    return { k, n };
  },
};

/** `fuzz merge DIR... [--out DIR]`: the shards' results joined, as one campaign would report. */
async function runMerge(
  ctx: ShellContext,
  dirs: string[],
  opts: Record<string, unknown>,
): Promise<number> {
  let m;
  try {
    m = await mergeShards(dirs, Boolean(opts.partial));
  } catch (e) {
    if (!(e instanceof FuzzMergeError)) throw e;
    ctx.io.err(`fuzz merge: ${e.message}`);
    return 2;
  }
  const out = opts.outGiven ? String(opts.out) : undefined;
  if (out && m.missing.length) {
    ctx.io.err("fuzz merge: --out writes a whole campaign: it needs every shard (not --partial)");
    return 2;
  }
  if (out) await writeMergedCampaign(out, m);
  if (opts.json) {
    ctx.io.out(JSON.stringify({ ...m, savedTo: out ?? null }));
  } else {
    const rows = Object.entries(m.counts).map(([c, n]) => [
      c,
      n,
      `${((100 * n) / Math.max(1, m.cases)).toFixed(1)}%`,
      CLASS_MEANING[c as keyof typeof CLASS_MEANING] ?? "",
    ]);
    for (const line of renderTable(["class", "cases", "share", "meaning"], rows).split("\n")) {
      ctx.io.out(line);
    }
    if (m.missing.length) {
      ctx.io.out(
        `fuzz merge: partial: ${m.cases} of ${m.iterations} cases; ${m.missing.length} shards ` +
          `missing (${m.missing.slice(0, 10).join(", ")}${m.missing.length > 10 ? ", ..." : ""})`,
      );
    }
    ctx.io.out(
      `fuzz merge: ${dirs.length} shard${dirs.length === 1 ? "" : "s"}, ${m.cases} cases ` +
        `(seed ${m.seed}, target ${m.target}), ${m.bugs} bug cases, ${m.findings.length} distinct` +
        (out ? `; written to ${out}` : ""),
    );
    for (const f of m.findings) {
      ctx.io.out(`  ${f.class}: ${f.signature} [case ${f.index}, ${f.occurrences} like it]`);
      ctx.io.out(`    recipe: ${f.ops.map(opWord).join(" ")}`);
    }
  }
  return m.bugs ? 1 : 0;
}

/** The fuzz command definition. */
export const fuzzCommand: CommandDef<ShellContext> = {
  name: "fuzz",
  summary: "Mutate a snapshot, load each result into a fresh machine, classify, report bugs",
  args: [
    {
      name: "file",
      description: "snapshot to mutate (or stored snapshot name); `merge` joins shard directories",
    },
    {
      name: "more",
      optional: true,
      variadic: true,
      description: "after `merge`: the shards' --out directories; with --target qemu: " +
        "the QEMU command line, after --",
    },
  ],
  options: [
    {
      flags: "--iterations <n>",
      description: "cases to run",
      default: "10000",
      type: positiveCountType,
    },
    {
      flags: "--seed <s>",
      description: "campaign seed (default: drawn and printed)",
      type: seedType,
    },
    {
      flags: "--workers <w>",
      description: "Web Workers (default: every core; 0 = this thread only)",
      type: countType,
    },
    {
      flags: "--max-ops <k>",
      description: "most operations per case",
      default: "3",
      type: positiveCountType,
    },
    {
      flags: "--run-insns <n>",
      description: "cycles each accepted case runs (instructions plus idle cycles in WFI)",
      default: "10000",
      type: countType,
    },
    {
      flags: "--hang-ms <ms>",
      description: "a case silent this long (wall-clock ms) is a hang",
      default: "10000",
      type: positiveCountType,
    },
    {
      flags: "--via <how>",
      description: "how cases reach the loader: memory, tcp (a real socket) or pipe (a FIFO)",
      default: "memory",
      type: enumType("via", [...FUZZ_VIAS]),
    },
    targetOption,
    ...qemuRunOptions,
    ...qemuFuzzOptions,
    {
      flags: "--differential",
      description: "with --target qemu: also load each case in snapshell (a QEMU riscv32 virt " +
        "stream whole, in the qemu-virt machine, states compared; else the sections both " +
        "model); a disagreement is a finding",
    },
    {
      flags: "--shard <k/n>",
      description: "run only slice K of N of the campaign (join the --out dirs with fuzz merge)",
      type: shardType,
    },
    {
      flags: "--partial",
      description: "merge: allow missing shards (a batch whose jobs did not all finish)",
    },
    {
      flags: "--out <dir>",
      description: "where bug streams, recipes and campaign.json go (merge: where the joined " +
        "campaign goes)",
      default: "fuzz-bugs",
    },
    { flags: "--json", description: "print the summary as one JSON object on stdout" },
  ],
  examples: [
    "snapshot /tmp/s.snap --ram 16M",
    "fuzz /tmp/s.snap --iterations 100000 --seed 1 --workers 2",
    "fuzz /tmp/s.snap --iterations 100000 --seed 1 --shard 2/8 --out shard-2",
    "fuzz virt.qemu --target qemu --iterations 1000 -- qemu-system-riscv32 -M virt -bios none -m 16M",
    "fuzz merge shard-1 shard-2 shard-3 shard-4 shard-5 shard-6 shard-7 shard-8 --out all",
  ],
  async run(ctx, args, opts): Promise<number> {
    const words = args.map(String);
    if (words[0] === "merge") {
      if (words.length < 2) throw new UsageError("fuzz merge needs the shards' directories");
      return await runMerge(ctx, words.slice(1), {
        ...opts,
        outGiven: opts.out !== "fuzz-bugs",
      });
    }
    const qemu = opts.target === "qemu";
    if (!qemu && words.length > 1) {
      throw new UsageError(`fuzz takes one FILE (got ${words.length}: ${words.join(" ")})`);
    }
    if (!qemu && opts.differential) {
      throw new UsageError("--differential compares with QEMU: give --target qemu -- QEMU ARGS");
    }
    const argv = qemu ? qemuArgv(words.slice(1), "fuzz") : [];
    const iterations = opts.iterations as number;
    const workers = (opts.workers as number | undefined) ?? (navigator.hardwareConcurrency || 1);
    const maxOps = opts.maxOps as number;
    const runInsns = opts.runInsns as number;
    const hangMs = opts.hangMs as number;
    const seed = (opts.seed as number | undefined) ?? crypto.getRandomValues(new Uint32Array(1))[0];
    const base = await readStreamArg(ctx, args[0] as string);
    const via = opts.via as FuzzVia;
    const shard = opts.shard as Shard | undefined;
    if (qemu) {
      return await runFuzzQemu(ctx, base, argv, {
        iterations,
        seed,
        lanes: (opts.workers as number | undefined) || (navigator.hardwareConcurrency || 1),
        maxOps,
        bounds: qemuBounds(opts),
        runners: opts,
        outDir: String(opts.out),
        json: Boolean(opts.json),
        ...(shard ? { shard } : {}),
        ...(opts.differential
          ? { oracle: (await wholeStreamOracle(base.bytes, argv)) ?? differentialOracle }
          : {}),
      });
    }
    const slice = shard
      ? Math.floor((shard.k * iterations) / shard.n) -
        Math.floor(((shard.k - 1) * iterations) / shard.n)
      : iterations;
    const bar = ctx.progress?.(shard ? `fuzz ${shard.k}/${shard.n}` : "fuzz", slice, "count");
    let result;
    try {
      result = await ctx.session.cancellable((signal) =>
        runCampaign(base.bytes, {
          iterations,
          seed,
          workers,
          maxOps,
          runInsns,
          hangMs,
          via,
          outDir: String(opts.out),
          baseName: base.name,
          onProgress: (done) => bar?.update(done, slice, "cases"),
          signal,
          ...(shard ? { shard } : {}),
        })
      );
    } finally {
      bar?.done();
    }
    const cases = result.casesRun;
    if (opts.json) {
      ctx.io.out(JSON.stringify({
        seed: result.seed,
        iterations: result.iterations,
        ...(shard ? { shard: `${shard.k}/${shard.n}` } : {}),
        casesRun: cases,
        cancelled: result.cancelled,
        workers: result.workers,
        counts: result.counts,
        bugs: result.bugs,
        loadsPerSecond: Math.round(result.loadsPerSecond),
        loadsPerSecondPerCore: Math.round(result.loadsPerSecondPerCore),
        loadsPerCpuSecond: Math.round(result.loadsPerCpuSecond),
        preParsed: result.preParsed,
        seconds: result.seconds,
        savedTo: result.reports.length ? result.savedTo : null,
        reports: result.reports.map((r) => ({ ...r, ops: r.ops.map(opWord) })),
      }));
      return result.cancelled ? EXIT_INTERRUPTED : result.bugs ? 1 : 0;
    }
    const rows = CASE_CLASSES.map((c) => [
      c,
      result.counts[c],
      `${((100 * result.counts[c]) / Math.max(1, cases)).toFixed(1)}%`,
      CLASS_MEANING[c],
    ]);
    for (const line of renderTable(["class", "cases", "share", "meaning"], rows).split("\n")) {
      ctx.io.out(line);
    }
    if (result.cancelled) {
      ctx.io.out(
        `fuzz: cancelled (Ctrl-C) after ${cases} of ${slice} cases: the table counts those; ` +
          "bugs below are as seen, not confirmed or shrunk, and nothing was saved",
      );
    }
    ctx.io.out(
      `fuzz: ${cases} cases of ${base.name} (seed ${result.seed}` +
        `${shard ? `, shard ${shard.k}/${shard.n} of ${iterations}` : ""}) in ` +
        `${result.seconds.toFixed(1)} s: ${Math.round(result.loadsPerSecond)} loads/s, ` +
        `${Math.round(result.loadsPerSecondPerCore)} per worker-second, ` +
        `${Math.round(result.loadsPerCpuSecond)} per CPU-second, ${result.workers || 1} ` +
        `worker${result.workers === 1 ? "" : "s"}`,
    );
    if (result.savedTo && !result.cancelled) {
      ctx.io.out(`fuzz: results in ${result.savedTo}/campaign.json (fuzz merge joins shards)`);
    }
    if (!result.bugs) {
      ctx.io.out("fuzz: no bugs");
      return result.cancelled ? EXIT_INTERRUPTED : 0;
    }
    ctx.io.out(`fuzz: ${result.bugs} bug cases, ${result.reports.length} distinct:`);
    for (const r of result.reports) {
      ctx.io.out(
        `  ${r.class}${r.phase ? ` (${r.phase})` : ""}: ${r.error ? r.error + ": " : ""}` +
          `${r.detail ?? ""} [case ${r.index}, ${r.occurrences} like it${
            r.confirmed ? "" : ", NOT reproduced on a new machine"
          }]`,
      );
      ctx.io.out(`    recipe: ${r.ops.map(opWord).join(" ")}`);
      if (r.file) ctx.io.out(`    saved: ${r.file} (+ ${r.recipeFile})`);
    }
    if (result.cancelled) return EXIT_INTERRUPTED;
    return result.reports.some((r) => isBug(r.class)) ? 1 : 0;
  },
};
