/**
 * `corrupt IN OUT [OPS...]`: damage a stream on purpose (bytes, structure, field values, or K
 * random operations from a seed) and write `OUT.recipe.json` beside OUT so it can be rebuilt
 * with `--recipe`. All the work is in migration/corrupt; this file parses words and prints.
 * @module
 */
import {
  corruptFile,
  type CorruptOp,
  CorruptOpError,
  layoutOf,
  OP_SYNTAX,
  opWord,
  parseAssignment,
  parseInteger,
  parseOpWord,
  readRecipe,
  type Recipe,
} from "../../migration/corrupt/mod.ts";
import { fileAccess } from "../../migration/inspect/byte_access.ts";
import { fileInput } from "../../migration/inspect/input.ts";
import type { StreamLayout } from "../../migration/inspect/layout.ts";
import { formatLeaf } from "../../migration/inspect/vmsd.ts";
import { type CommandContext, type CommandDef, UsageError } from "./types.ts";

/** Rethrow operation mistakes as usage errors (exit 2); recipe mismatches stay errors (exit 1). */
function usage(e: unknown): never {
  if (e instanceof CorruptOpError && e.code !== "recipe") throw new UsageError(e.message);
  throw e;
}

/** Everything `--list` prints: chunk selectors, subsections and fields with offsets. */
export function listTargets(layout: StreamLayout): string[] {
  const out: string[] = [];
  for (const c of layout.chunks) {
    out.push(`${c.selector}  @0x${c.offset.toString(16)} ${c.size} bytes`);
  }
  for (const s of layout.subsections) {
    out.push(`  subsection ${s.name}  (${s.path}) @0x${s.offset.toString(16)} ${s.size} bytes`);
  }
  for (const f of layout.fields) {
    const v = f.value.kind === "bytes" && f.size > 16
      ? `${f.size} bytes`
      : String(formatLeaf(f.value));
    out.push(`  ${f.path} = ${v}  (${f.type}, ${f.size} bytes @0x${f.offset.toString(16)})`);
  }
  return out;
}

/** The corrupt command definition. */
export const corruptCommand: CommandDef = {
  name: "corrupt",
  summary: "Damage a stream on purpose (bytes, structure, fields, random) and record the recipe",
  args: [
    { name: "in", description: "stream to corrupt (ours or QEMU's)" },
    { name: "out", optional: true, description: "corrupted stream to write (+ OUT.recipe.json)" },
    {
      name: "ops",
      optional: true,
      variadic: true,
      description: "operations, applied in order:\n" + OP_SYNTAX.map((s) => "  " + s).join("\n"),
    },
  ],
  options: [
    {
      flags: "--set <path=value...>",
      description: "rewrite a field located through the vmdesc, e.g. serial.lsr=0xff, " +
        "nvme.sq[3].tail=65535 (full idstr or short name; path as inspect --hex prints it)",
    },
    { flags: "--random <k>", description: "add K operations drawn from the weighted strategies" },
    { flags: "--seed <s>", description: "seed of --random (default: drawn and recorded)" },
    { flags: "--recipe <file>", description: "rebuild exactly from a recipe file" },
    { flags: "--list", description: "list the sections, subsections and fields of IN and exit" },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const [inPath, outPath, ...words] = args as string[];
    if (opts.list) {
      const access = await fileAccess(inPath);
      try {
        for (const line of listTargets(await layoutOf(await fileInput(inPath), access))) {
          ctx.io.out(line);
        }
      } finally {
        access.close();
      }
      return 0;
    }
    if (!outPath) throw new UsageError("corrupt needs an output file (or --list)");
    let ops: CorruptOp[];
    let random: { count: number; seed: number } | undefined;
    let recipe: Recipe | undefined;
    try {
      ops = words.map(parseOpWord);
      for (const a of (opts.set as string[] | undefined) ?? []) ops.push(parseAssignment(a));
      if (opts.random !== undefined) {
        const count = parseInteger(String(opts.random), "--random");
        if (count <= 0) throw new UsageError("--random needs a count above 0");
        const seed = opts.seed === undefined
          ? crypto.getRandomValues(new Uint32Array(1))[0]
          : parseInteger(String(opts.seed), "--seed") >>> 0;
        random = { count, seed };
      } else if (opts.seed !== undefined) throw new UsageError("--seed goes with --random");
      if (opts.recipe !== undefined) {
        if (ops.length || random) {
          throw new UsageError("--recipe rebuilds exactly: give no other operations with it");
        }
        recipe = await readRecipe(String(opts.recipe));
      }
      if (!ops.length && !random && !recipe) {
        throw new UsageError("no operations: give OPS, --set, --random K or --recipe FILE");
      }
    } catch (e) {
      usage(e);
    }
    let result;
    try {
      result = await corruptFile(inPath, outPath, { ops, random, recipe });
    } catch (e) {
      usage(e);
    }
    const r = result.recipe;
    for (const op of r.ops) ctx.io.out(`  ${opWord(op)}`);
    ctx.io.out(
      `corrupt: wrote ${outPath} (${r.output.bytes} bytes, ${r.ops.length} operation${
        r.ops.length === 1 ? "" : "s"
      }${r.random ? `, seed ${r.random.seed}` : ""}); recipe ${result.recipeFile}`,
    );
    return 0;
  },
};
