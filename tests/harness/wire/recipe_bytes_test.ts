import { deepStrictEqual, rejects } from "node:assert/strict";
import {
  corruptBytes,
  CorruptOpError,
  type Recipe,
  RECIPE_FORMAT,
  sha256Hex,
} from "../../../migration/corrupt/mod.ts";
import { applyRecipeToBytes } from "../../../harness/wire/recipe_bytes.ts";
import { demoStream } from "./_streams.ts";

async function recipeFor(bytes: Uint8Array, ops: Recipe["ops"]): Promise<Recipe> {
  const out = await corruptBytes(bytes, ops);
  return {
    format: RECIPE_FORMAT,
    version: 1,
    input: { name: "demo", bytes: bytes.length, sha256: sha256Hex(bytes) },
    ops,
    output: { bytes: out.length, sha256: sha256Hex(out) },
  };
}

Deno.test("applyRecipeToBytes() rebuilds a recipe's output from its input, splices included", async () => {
  const bytes = await demoStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/src.bin`, Uint8Array.of(1, 2, 3, 4));
    const recipe = await recipeFor(bytes, [
      { op: "set-field", path: "serial.lsr", value: "0x61" },
      { op: "drop-section", section: "rtc" },
    ]);
    deepStrictEqual(await applyRecipeToBytes(bytes, recipe), await corruptBytes(bytes, recipe.ops));
    const splice: Recipe["ops"] = [{
      op: "splice",
      offset: 100,
      length: 2,
      source: `${dir}/src.bin`,
      sourceOffset: 1,
      sourceLength: 3,
    }];
    const want = bytes.slice(0, 100);
    const spliced = new Uint8Array(bytes.length + 1);
    spliced.set(want);
    spliced.set([2, 3, 4], 100);
    spliced.set(bytes.subarray(102), 103);
    const out = await applyRecipeToBytes(bytes, {
      ...(await recipeFor(bytes, [])),
      ops: splice,
      output: { bytes: spliced.length, sha256: sha256Hex(spliced) },
    });
    deepStrictEqual(out, spliced);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyRecipeToBytes() refuses another input and a rebuild that differs", async () => {
  const bytes = await demoStream();
  const recipe = await recipeFor(bytes, [{ op: "flip", offset: 10, bit: 1 }]);
  const other = bytes.slice();
  other[0] ^= 1;
  await rejects(
    applyRecipeToBytes(other, recipe),
    (e) =>
      e instanceof CorruptOpError && e.code === "recipe" &&
      /not the recipe's input/.test(e.message),
  );
  await rejects(
    applyRecipeToBytes(bytes, { ...recipe, output: { ...recipe.output, sha256: "0".repeat(64) } }),
    /rebuilding gave different bytes/,
  );
});
