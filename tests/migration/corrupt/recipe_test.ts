import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import {
  parseRecipe,
  readRecipe,
  RECIPE_FORMAT,
  recipePath,
  Sha256,
  sha256Hex,
} from "../../../migration/corrupt/recipe.ts";
import { TransportError } from "../../../migration/errors.ts";

const good = {
  format: RECIPE_FORMAT,
  version: 1,
  input: { name: "in", bytes: 10, sha256: "ab" },
  random: { count: 1, seed: 5 },
  ops: [{ op: "flip", offset: 1, bit: 0 }],
  output: { bytes: 10, sha256: "cd" },
};

Deno.test("a recipe parses back to what was written", () => {
  deepStrictEqual(parseRecipe(JSON.stringify(good)), good);
});

Deno.test("damaged recipes are refused with the reason", () => {
  const bad = (v: unknown, re: RegExp) =>
    throws(
      () => parseRecipe(typeof v === "string" ? v : JSON.stringify(v)),
      (e) => e instanceof CorruptOpError && e.code === "recipe" && re.test(e.message),
    );
  bad("{", /not JSON/);
  bad({ ...good, format: "x" }, /not a snapshell-corrupt-recipe/);
  bad({ ...good, version: 2 }, /version 2/);
  bad({ ...good, ops: {} }, /not a list/);
  bad({ ...good, ops: [{ op: "flip", offset: "1", bit: 0 }] }, /operation 1.*offset/);
  bad({ ...good, output: { bytes: 1 } }, /"output"/);
});

Deno.test("SHA-256 is computed incrementally and matches the one-shot digest", () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => i * 7);
  const h = new Sha256().update(data.subarray(0, 1234)).update(data.subarray(1234)).hex();
  strictEqual(h, sha256Hex(data));
  strictEqual(
    sha256Hex(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("recipe files live beside their output and are read back", async () => {
  strictEqual(recipePath("/tmp/x.bin"), "/tmp/x.bin.recipe.json");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/r.json`, JSON.stringify(good));
  deepStrictEqual(await readRecipe(`${dir}/r.json`), good);
  await rejects(readRecipe(`${dir}/missing.json`), TransportError);
  await Deno.remove(dir, { recursive: true });
});
