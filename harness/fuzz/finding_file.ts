/**
 * The files of one fuzz finding, written the same way by the snapshell and the QEMU campaign: the
 * stream (`NAME.bin`) and the corrupt recipe that rebuilds it from the base (`NAME.recipe.json`).
 */
import { type Recipe, RECIPE_FORMAT, sha256Hex } from "../../migration/corrupt/recipe.ts";
import { writeFileDurable } from "../../migration/stream/durable_file.ts";

/** What both campaigns keep of one distinct finding, whatever its target. */
export interface FindingRecord {
  /** First case index that showed it. */
  index: number;
  /** Cases that showed the same signature. */
  occurrences: number;
  /** The minimal recipe. */
  ops: Recipe["ops"];
  /** The recipe the case had before shrinking. */
  originalOps: Recipe["ops"];
  /** Reproduced on a brand-new machine (or QEMU) from the unmodified bytes. */
  confirmed: boolean;
  /** Saved stream and recipe, when an output directory was given. */
  file?: string;
  recipeFile?: string;
}

/** Where a finding's two files went. */
export interface FindingFiles {
  file: string;
  recipeFile: string;
}

/** What a finding's files are made from. */
export interface Finding {
  /** The campaign's output directory (made when missing). */
  dir: string;
  /** The files' common name, e.g. `bug-001-invalid`. */
  name: string;
  /** The base stream the recipe applies to, and its name in the recipe. */
  base: Uint8Array;
  baseName?: string;
  ops: Recipe["ops"];
  /** The stream the recipe builds. */
  bytes: Uint8Array;
  /** Campaign-specific facts kept in the recipe's `note`. */
  note: Record<string, unknown>;
}

/** Save a finding's stream and recipe durably, so a kept finding always has both halves. */
export async function writeFinding(f: Finding): Promise<FindingFiles> {
  await Deno.mkdir(f.dir, { recursive: true });
  const stem = `${f.dir}/${f.name}`;
  const recipe: Recipe = {
    format: RECIPE_FORMAT,
    version: 1,
    input: { name: f.baseName ?? "base", bytes: f.base.length, sha256: sha256Hex(f.base) },
    ops: f.ops,
    output: { bytes: f.bytes.length, sha256: sha256Hex(f.bytes) },
    note: f.note,
  };
  const files = { file: `${stem}.bin`, recipeFile: `${stem}.recipe.json` };
  await writeFileDurable(files.file, f.bytes);
  await writeFileDurable(
    files.recipeFile,
    new TextEncoder().encode(JSON.stringify(recipe, null, 2) + "\n"),
  );
  return files;
}
