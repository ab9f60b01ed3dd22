/**
 * `fuzz FILE [--iterations N] [--seed S] [--workers W]`: mutate a snapshot with the corrupt
 * strategies, load every result into a fresh machine on every core, classify, and report a
 * summary table (or `--json`) plus each distinct bug, confirmed, shrunk and saved with its
 * recipe. The work is in harness/fuzz.
 * @module
 */
import { runCampaign } from "../../harness/fuzz/campaign.ts";
import { CASE_CLASSES, CLASS_MEANING, isBug } from "../../harness/fuzz/classes.ts";
import { FUZZ_VIAS, type FuzzVia } from "../../harness/fuzz/via.ts";
import { opWord } from "../../migration/corrupt/ops.ts";
import type { ShellContext } from "../session.ts";
import { renderTable } from "../style.ts";
import { readStreamArg } from "../snapshot_io.ts";
import { countType, enumType, positiveCountType, seedType } from "./arg_types.ts";
import type { CommandDef } from "./types.ts";

/** The fuzz command definition. */
export const fuzzCommand: CommandDef<ShellContext> = {
  name: "fuzz",
  summary: "Mutate a snapshot, load each result into a fresh machine, classify, report bugs",
  args: [{ name: "file", description: "snapshot to mutate (or stored snapshot name)" }],
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
    { flags: "--out <dir>", description: "where bug streams and recipes go", default: "fuzz-bugs" },
    { flags: "--json", description: "print the summary as one JSON object on stdout" },
  ],
  examples: [
    "snapshot /tmp/s.snap --ram 16M",
    "fuzz /tmp/s.snap --iterations 100000 --seed 1 --workers 2",
  ],
  async run(ctx, args, opts): Promise<number> {
    const iterations = opts.iterations as number;
    const workers = (opts.workers as number | undefined) ?? (navigator.hardwareConcurrency || 1);
    const maxOps = opts.maxOps as number;
    const runInsns = opts.runInsns as number;
    const hangMs = opts.hangMs as number;
    const seed = (opts.seed as number | undefined) ?? crypto.getRandomValues(new Uint32Array(1))[0];
    const base = await readStreamArg(ctx, args[0] as string);
    const via = opts.via as FuzzVia;
    const bar = ctx.progress?.("fuzz", iterations);
    let result;
    try {
      result = await runCampaign(base.bytes, {
        iterations,
        seed,
        workers,
        maxOps,
        runInsns,
        hangMs,
        via,
        outDir: String(opts.out),
        baseName: base.name,
        onProgress: (done) => bar?.update(done),
      });
    } finally {
      bar?.done();
    }
    if (opts.json) {
      ctx.io.out(JSON.stringify({
        seed: result.seed,
        iterations: result.iterations,
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
      return result.bugs ? 1 : 0;
    }
    const rows = CASE_CLASSES.map((c) => [
      c,
      result.counts[c],
      `${((100 * result.counts[c]) / result.iterations).toFixed(1)}%`,
      CLASS_MEANING[c],
    ]);
    for (const line of renderTable(["class", "cases", "share", "meaning"], rows).split("\n")) {
      ctx.io.out(line);
    }
    ctx.io.out(
      `fuzz: ${result.iterations} cases of ${base.name} (seed ${result.seed}) in ` +
        `${result.seconds.toFixed(1)} s: ${Math.round(result.loadsPerSecond)} loads/s, ` +
        `${Math.round(result.loadsPerSecondPerCore)} per worker-second, ` +
        `${Math.round(result.loadsPerCpuSecond)} per CPU-second, ${result.workers || 1} ` +
        `worker${result.workers === 1 ? "" : "s"}`,
    );
    if (!result.bugs) {
      ctx.io.out("fuzz: no bugs");
      return 0;
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
    return result.reports.some((r) => isBug(r.class)) ? 1 : 0;
  },
};
