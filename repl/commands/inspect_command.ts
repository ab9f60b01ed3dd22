/**
 * `inspect FILE`: decode any QEMU-format stream from its vmdesc trailer (schema-less), in the
 * formats of QEMU's analyze-migration.py or as a readable tree.
 * @module
 */
import {
  analyzeDesc,
  analyzeState,
  extract,
  fileInput,
  inspect,
  pythonJson,
  renderTree,
} from "../../migration/inspect/mod.ts";
import { fileAccess } from "../../migration/inspect/byte_access.ts";
import { renderHex } from "../../migration/inspect/hex.ts";
import { renderHtml } from "../../migration/inspect/html.ts";
import { buildLayout } from "../../migration/inspect/layout.ts";
import { type CommandContext, type CommandDef, UsageError } from "./types.ts";

/** The inspect command definition. */
export const inspectCommand: CommandDef = {
  name: "inspect",
  summary: "Decode a migration stream (ours or QEMU's) without a schema, from its vmdesc",
  args: [{ name: "file", description: "stream file" }],
  options: [
    {
      flags: "--format <fmt>",
      description: "tree | analyze (= analyze-migration.py) | desc (= its -d desc)",
      default: "tree",
    },
    {
      flags: "--extract <dir>",
      description: "write desc.json, one file per RAM block, state.json (= its -x)",
    },
    {
      flags: "--dump-memory",
      description: "include RAM contents in the analyze output (= its -m)",
    },
    {
      flags: "--hex",
      description: "annotated hex dump: every byte range labelled with its section and field path",
    },
    {
      flags: "--html <out>",
      description: "write one self-contained page drawing the stream as a map (click for values)",
    },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const file = args[0] as string;
    const input = await fileInput(file);
    if (opts.extract) {
      const rep = await extract(input, String(opts.extract));
      for (const name of rep.printed) ctx.io.out(name);
      for (const w of rep.result.warnings) ctx.io.err(`warning: ${w.message}`);
      return 0;
    }
    if (opts.hex || opts.html !== undefined) return await drawn(ctx, file, opts);
    const format = String(opts.format ?? "tree");
    const dumpMemory = !!opts.dumpMemory;
    if (!["tree", "analyze", "desc"].includes(format)) {
      throw new UsageError(`Unknown format "${format}": use tree, analyze or desc`);
    }
    const result = await inspect(input, { dumpMemory });
    if (format === "analyze" || dumpMemory) {
      ctx.io.out(pythonJson(analyzeState(result)));
    } else if (format === "desc") {
      const desc = analyzeDesc(result);
      if (desc === undefined) {
        ctx.io.err("No vmdesc trailer: nothing to describe");
        for (const w of result.warnings) ctx.io.err(`warning: ${w.message}`);
        return 1;
      }
      ctx.io.out(pythonJson(desc));
    } else {
      ctx.io.out(renderTree(result, file));
    }
    for (const w of result.warnings) ctx.io.err(`warning: ${w.message}`);
    return result.end.complete ? 0 : 1;
  },
};

/** `--hex` and `--html OUT`: both draw from the stream's layout. */
async function drawn(
  ctx: CommandContext,
  file: string,
  opts: Record<string, unknown>,
): Promise<number> {
  const result = await inspect(await fileInput(file));
  const access = await fileAccess(file);
  try {
    const layout = await buildLayout(result, access);
    if (opts.html !== undefined) {
      const out = String(opts.html);
      await Deno.writeTextFile(out, renderHtml(layout));
      ctx.io.err(
        `inspect: wrote ${out} (${layout.chunks.length} chunks, ${layout.fields.length} fields)`,
      );
    }
    if (opts.hex) await renderHex(layout, access, (line) => ctx.io.out(line));
  } finally {
    access.close();
  }
  for (const w of result.warnings) ctx.io.err(`warning: ${w.message}`);
  return result.end.complete ? 0 : 1;
}
