/**
 * `corrupt`: damage a migration stream on purpose, at the byte, structure or meaning level, and
 * record how (the recipe) so the result can be rebuilt exactly. Works on any QEMU-format stream;
 * field-level operations need its vmdesc trailer. The input is read in ranges and the output
 * streamed from them, so multi-GiB streams need little memory.
 * @module
 */
import { TransportError } from "../errors.ts";
import { writeAll, writeDurable, writeFileDurable } from "../stream/durable_file.ts";
import { type ByteAccess, bytesAccess, fileAccess, forEachChunk } from "../inspect/byte_access.ts";
import { bytesInput, fileInput, type InspectInput } from "../inspect/input.ts";
import { inspect } from "../inspect/decoder.ts";
import { buildLayout, type StreamLayout } from "../inspect/layout.ts";
import { type ApplyContext, applyOps } from "./apply.ts";
import { CorruptOpError } from "./errors.ts";
import type { CorruptOp } from "./ops.ts";
import type { PieceTable } from "./pieces.ts";
import { randomOps, Rng, Targets } from "./random.ts";
import { type Recipe, RECIPE_FORMAT, recipePath, Sha256 } from "./recipe.ts";

export { type ApplyContext, applyOp, applyOps, encodeFieldValue } from "./apply.ts";
export { CorruptOpError } from "./errors.ts";
export * from "./ops.ts";
export { type Piece, PieceTable } from "./pieces.ts";
export * from "./random.ts";
export * from "./recipe.ts";
export * from "./selectors.ts";

/** Inspect a stream and build its layout. */
export async function layoutOf(input: InspectInput, access: ByteAccess): Promise<StreamLayout> {
  return await buildLayout(await inspect(input), access);
}

/** The layout of bytes in memory, with access to them (tests and the fuzzer). */
export async function layoutOfBytes(bytes: Uint8Array, name = "<memory>"): Promise<StreamLayout> {
  return await layoutOf(bytesInput(bytes), bytesAccess(bytes, name));
}

/** What to do to the input. */
export interface CorruptSpec {
  /** Explicit operations. */
  ops?: CorruptOp[];
  /** Draw this many operations with this seed (after any explicit ones). */
  random?: { count: number; seed: number };
  /** Rebuild from a recipe (its input must be this input). */
  recipe?: Recipe;
}

/** Result of {@link corruptFile}. */
export interface CorruptResult {
  recipe: Recipe;
  /** Where the recipe was written. */
  recipeFile: string;
}

async function fileSha(access: ByteAccess): Promise<string> {
  const h = new Sha256();
  await forEachChunk(access, 0, access.size, (b) => void h.update(b));
  return h.hex();
}

/** Resolve a spec into operations and the output's piece table. */
export async function planCorruption(
  ctx: ApplyContext,
  spec: CorruptSpec,
): Promise<{ ops: CorruptOp[]; table: PieceTable }> {
  if (spec.recipe) return { ops: spec.recipe.ops, table: await applyOps(ctx, spec.recipe.ops) };
  const ops = [...(spec.ops ?? [])];
  const table = await applyOps(ctx, ops);
  if (spec.random) {
    const targets = new Targets(ctx.layout);
    const rng = new Rng(spec.random.seed);
    ops.push(...(await randomOps(ctx, targets, rng, spec.random.count, table)).ops);
  }
  return { ops, table };
}

/** Corrupt `inPath` into `outPath` (written atomically) and write `outPath.recipe.json`. */
export async function corruptFile(
  inPath: string,
  outPath: string,
  spec: CorruptSpec,
): Promise<CorruptResult> {
  const access = await fileAccess(inPath);
  try {
    const inputSha = await fileSha(access);
    if (spec.recipe && spec.recipe.input.sha256 !== inputSha) {
      throw new CorruptOpError(
        "recipe",
        `${inPath} is not the recipe's input (SHA-256 ${inputSha.slice(0, 16)}..., the recipe ` +
          `wants ${spec.recipe.input.sha256.slice(0, 16)}... of ${spec.recipe.input.bytes} bytes)`,
      );
    }
    const layout = await layoutOf(await fileInput(inPath), access);
    const sources: ByteAccess[] = [];
    const ctx: ApplyContext = {
      layout,
      input: access,
      openSource: async (name) => {
        const a = await fileAccess(name);
        sources.push(a);
        return a;
      },
    };
    const { ops, table } = await planCorruption(ctx, spec);
    const output = await writePieces(table, access, outPath);
    const recipe: Recipe = {
      format: RECIPE_FORMAT,
      version: 1,
      input: { name: inPath, bytes: access.size, sha256: inputSha },
      ...(spec.random && !spec.recipe ? { random: spec.random } : {}),
      ...(spec.recipe?.random ? { random: spec.recipe.random } : {}),
      ops,
      output,
      ...(spec.recipe?.note ? { note: spec.recipe.note } : {}),
    };
    if (spec.recipe && spec.recipe.output.sha256 !== output.sha256) {
      throw new CorruptOpError(
        "recipe",
        `rebuilding gave different bytes (SHA-256 ${output.sha256.slice(0, 16)}..., the recipe ` +
          `recorded ${spec.recipe.output.sha256.slice(0, 16)}...)`,
      );
    }
    const file = recipePath(outPath);
    await writeFileDurable(file, new TextEncoder().encode(JSON.stringify(recipe, null, 2) + "\n"));
    return { recipe, recipeFile: file };
  } finally {
    access.close();
  }
}

/** Stream the pieces into `path` with the durable atomic writer; returns size and SHA-256. */
async function writePieces(
  table: PieceTable,
  input: ByteAccess,
  path: string,
): Promise<{ bytes: number; sha256: string }> {
  const h = new Sha256();
  let n = 0;
  try {
    // The durable atomic writer: temp file beside `path`, fsync, rename, fsync the directory.
    await writeDurable(path, async (file) => {
      const write = async (b: Uint8Array) => {
        h.update(b);
        n += b.length;
        await writeAll(file, b);
      };
      for (const p of table.list) {
        if (p.src === "bytes") await write(p.bytes);
        else await forEachChunk(input, p.start, p.end - p.start, write);
      }
    });
    return { bytes: n, sha256: h.hex() };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      throw new TransportError(`Cannot write ${path}: ${(e as Error).message}`, {}, { cause: e });
    }
    throw e;
  }
}

/** Apply operations to bytes in memory (tests, scripts); returns the corrupted bytes. */
export async function corruptBytes(bytes: Uint8Array, ops: CorruptOp[]): Promise<Uint8Array> {
  const layout = await layoutOfBytes(bytes);
  const table = await applyOps({ layout, input: bytesAccess(bytes) }, ops);
  return table.assemble(bytes);
}
