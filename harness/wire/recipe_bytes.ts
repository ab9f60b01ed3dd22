/**
 * Rebuilding a recipe's corrupted stream in memory, for `replay FILE --to ... --recipe R`: the
 * recipe must be for exactly these bytes (its input SHA-256), and the rebuild must give exactly
 * its recorded output, as `corrupt --recipe` checks when it writes a file. Splice sources named
 * in the recipe are read from their files.
 * @module
 */
import {
  applyOps,
  CorruptOpError,
  layoutOfBytes,
  type Recipe,
  sha256Hex,
} from "../../migration/corrupt/mod.ts";
import { bytesAccess, fileAccess } from "../../migration/inspect/byte_access.ts";

/** The bytes `recipe` makes of `bytes`; a CorruptOpError ("recipe") when they are not its input. */
export async function applyRecipeToBytes(bytes: Uint8Array, recipe: Recipe): Promise<Uint8Array> {
  const inputSha = sha256Hex(bytes);
  if (inputSha !== recipe.input.sha256) {
    throw new CorruptOpError(
      "recipe",
      `the stream is not the recipe's input (SHA-256 ${inputSha.slice(0, 16)}..., the recipe ` +
        `wants ${recipe.input.sha256.slice(0, 16)}... of ${recipe.input.bytes} bytes)`,
    );
  }
  // applyOps closes each splice source once it has read from it.
  const table = await applyOps({
    layout: await layoutOfBytes(bytes),
    input: bytesAccess(bytes),
    openSource: fileAccess,
  }, recipe.ops);
  const out = table.assemble(bytes);
  const outSha = sha256Hex(out);
  if (outSha !== recipe.output.sha256) {
    throw new CorruptOpError(
      "recipe",
      `rebuilding gave different bytes (SHA-256 ${outSha.slice(0, 16)}..., the recipe ` +
        `recorded ${recipe.output.sha256.slice(0, 16)}...)`,
    );
  }
  return out;
}
