import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { readRecipe, sha256Hex } from "../../../migration/corrupt/recipe.ts";
import type { CorruptOp } from "../../../migration/corrupt/ops.ts";
import { writeFinding } from "../../../harness/fuzz/finding_file.ts";

Deno.test("a finding is its stream and a recipe naming the base and the stream by hash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapshell-finding-" });
  try {
    const base = new Uint8Array([1, 2, 3, 4]);
    const bytes = new Uint8Array([1, 2, 9, 4]);
    const ops: CorruptOp[] = [{ op: "set-byte", offset: 2, value: 9 }];
    const files = await writeFinding({
      dir: `${dir}/out`,
      name: "bug-001-invalid",
      base,
      baseName: "demo.qevm",
      ops,
      bytes,
      note: { class: "invalid", caseIndex: 7 },
    });
    strictEqual(files.file, `${dir}/out/bug-001-invalid.bin`);
    deepStrictEqual(await Deno.readFile(files.file), bytes);
    const recipe = await readRecipe(files.recipeFile);
    deepStrictEqual(recipe.input, { name: "demo.qevm", bytes: 4, sha256: sha256Hex(base) });
    deepStrictEqual(recipe.output, { bytes: 4, sha256: sha256Hex(bytes) });
    deepStrictEqual(recipe.note, { class: "invalid", caseIndex: 7 });
    const left = [];
    for await (const e of Deno.readDir(`${dir}/out`)) left.push(e.name);
    deepStrictEqual(left.sort(), ["bug-001-invalid.bin", "bug-001-invalid.recipe.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
