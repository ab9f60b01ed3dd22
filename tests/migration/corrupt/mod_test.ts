import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  corruptBytes,
  corruptFile,
  CorruptOpError,
  layoutOfBytes,
  readRecipe,
  sha256Hex,
} from "../../../migration/corrupt/mod.ts";
import { demoSnapshot } from "./_snapshot.ts";

const snap = await demoSnapshot();

Deno.test("corruptFile writes the output and a recipe that rebuilds it exactly", async () => {
  const dir = await Deno.makeTempDir();
  const input = `${dir}/in.bin`;
  await Deno.writeFile(input, snap);
  const first = await corruptFile(input, `${dir}/a.bin`, {
    ops: [{ op: "set-field", path: "serial.lsr", value: "0x1" }],
    random: { count: 4, seed: 77 },
  });
  strictEqual(first.recipe.ops.length, 5);
  deepStrictEqual(first.recipe.random, { count: 4, seed: 77 });
  const a = await Deno.readFile(`${dir}/a.bin`);
  strictEqual(first.recipe.output.sha256, sha256Hex(a));
  strictEqual(first.recipe.input.sha256, sha256Hex(snap));
  const recipe = await readRecipe(`${dir}/a.bin.recipe.json`);
  await corruptFile(input, `${dir}/b.bin`, { recipe });
  deepStrictEqual(await Deno.readFile(`${dir}/b.bin`), a);
  deepStrictEqual(a, await corruptBytes(snap, recipe.ops));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a recipe refuses an input that is not its own, and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/in.bin`, snap);
  const { recipe } = await corruptFile(`${dir}/in.bin`, `${dir}/a.bin`, {
    ops: [{ op: "flip", offset: 9, bit: 1 }],
  });
  const other = snap.slice();
  other[100] ^= 1;
  await Deno.writeFile(`${dir}/other.bin`, other);
  await rejects(
    corruptFile(`${dir}/other.bin`, `${dir}/c.bin`, { recipe }),
    (e) =>
      e instanceof CorruptOpError && e.code === "recipe" &&
      /not the recipe's input/.test(e.message),
  );
  await rejects(Deno.stat(`${dir}/c.bin`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a failing operation leaves no output file behind", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/in.bin`, snap);
  await rejects(
    corruptFile(`${dir}/in.bin`, `${dir}/x.bin`, {
      ops: [{ op: "drop-section", section: "nosuch" }],
    }),
    CorruptOpError,
  );
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  deepStrictEqual(names, ["in.bin"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("layoutOfBytes finds every section of our snapshot", async () => {
  const layout = await layoutOfBytes(snap);
  for (const s of ["ram", "cpu", "serial", "snapshell-nvme", "goldfish_rtc"]) {
    ok(layout.chunks.some((c) => c.section === s), s);
  }
});
