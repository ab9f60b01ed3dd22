/**
 * Recipes: the record kept beside every corrupted stream (`OUT.recipe.json`) of how it was made
 * (the input's size and SHA-256, the operations in order, the random seed when there was one,
 * and the output's size and SHA-256), so any corrupted stream can be rebuilt byte for byte with
 * `corrupt IN OUT --recipe FILE`, and the fuzzer's bug reports are recipes too.
 * @module
 */
import { createHash } from "node:crypto";
import { TransportError } from "../errors.ts";
import { CorruptOpError } from "./errors.ts";
import { checkOp, type CorruptOp } from "./ops.ts";

/** The recipe format tag. */
export const RECIPE_FORMAT = "snapshell-corrupt-recipe";

/** How a corrupted stream was made. */
export interface Recipe {
  format: typeof RECIPE_FORMAT;
  version: 1;
  /** The stream the operations apply to. */
  input: { name: string; bytes: number; sha256: string };
  /** Present when the operations were drawn at random. */
  random?: { count: number; seed: number };
  /** Operations, applied in order, offsets in input coordinates. */
  ops: CorruptOp[];
  /** What applying them produced. */
  output: { bytes: number; sha256: string };
  /** Free-form notes (the fuzzer records the class and error of a bug here). */
  note?: Record<string, unknown>;
}

/** Incremental SHA-256 (hex) over chunks. */
export class Sha256 {
  private readonly h = createHash("sha256");
  /** Add bytes. */
  update(bytes: Uint8Array): this {
    this.h.update(bytes);
    return this;
  }
  /** The digest in lowercase hex. */
  hex(): string {
    return this.h.digest("hex");
  }
}

/** SHA-256 of bytes in memory, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return new Sha256().update(bytes).hex();
}

/** Parse and check recipe JSON text; errors name what is wrong. */
export function parseRecipe(text: string, name = "recipe"): Recipe {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CorruptOpError("recipe", `${name} is not JSON: ${(e as Error).message}`);
  }
  const r = raw as Record<string, unknown>;
  if (typeof r !== "object" || r === null || r.format !== RECIPE_FORMAT) {
    throw new CorruptOpError("recipe", `${name} is not a ${RECIPE_FORMAT} file`);
  }
  if (r.version !== 1) {
    throw new CorruptOpError("recipe", `${name}: unsupported version ${r.version}`);
  }
  if (!Array.isArray(r.ops)) throw new CorruptOpError("recipe", `${name}: "ops" is not a list`);
  const ops = r.ops.map((o, i) => checkOp(o, i));
  const io = (k: "input" | "output") => {
    const v = r[k] as Record<string, unknown> | undefined;
    if (
      typeof v !== "object" || v === null || !Number.isSafeInteger(v.bytes) ||
      typeof v.sha256 !== "string"
    ) {
      throw new CorruptOpError("recipe", `${name}: "${k}" must have "bytes" and "sha256"`);
    }
    return { name: String(v.name ?? ""), bytes: v.bytes as number, sha256: v.sha256 };
  };
  const input = io("input");
  const { name: _n, ...output } = io("output");
  const random = r.random as Recipe["random"];
  return {
    format: RECIPE_FORMAT,
    version: 1,
    input,
    ...(random ? { random } : {}),
    ops,
    output,
    ...(r.note && typeof r.note === "object" ? { note: r.note as Record<string, unknown> } : {}),
  };
}

/** Read a recipe file. */
export async function readRecipe(path: string): Promise<Recipe> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new TransportError(`Cannot read recipe ${path}: ${(e as Error).message}`, {}, {
      cause: e,
    });
  }
  return parseRecipe(text, path);
}

/** The sidecar path of a corrupted stream's recipe. */
export function recipePath(output: string): string {
  return `${output}.recipe.json`;
}
