import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { readRecipe } from "../../../migration/corrupt/recipe.ts";
import { captureContext } from "../_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);
const QEMU = new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url).pathname;

Deno.test("corrupt applies operations and --set, and writes the recipe beside the output", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = captureContext();
  const out = `${dir}/out.qemu`;
  strictEqual(
    await run(ctx, "corrupt", QEMU, out, "flip:0x20:1", "--set", "serial.lsr=0xff"),
    0,
    ctx.errText(),
  );
  ok(
    /corrupt: wrote .*out\.qemu .*2 operations.*recipe .*out\.qemu\.recipe\.json/.test(
      ctx.outText(),
    ),
    ctx.outText(),
  );
  const recipe = await readRecipe(`${out}.recipe.json`);
  deepStrictEqual(recipe.ops.map((o) => o.op), ["flip", "set-field"]);
  // Rebuild from the recipe: byte for byte.
  strictEqual(
    await run(
      captureContext(),
      "corrupt",
      QEMU,
      `${dir}/again.qemu`,
      "--recipe",
      `${out}.recipe.json`,
    ),
    0,
  );
  deepStrictEqual(await Deno.readFile(`${dir}/again.qemu`), await Deno.readFile(out));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("corrupt --random K --seed S is reproducible and records its seed", async () => {
  const dir = await Deno.makeTempDir();
  for (const name of ["a", "b"]) {
    strictEqual(
      await run(
        captureContext(),
        "corrupt",
        QEMU,
        `${dir}/${name}`,
        "--random",
        "4",
        "--seed",
        "42",
      ),
      0,
    );
  }
  deepStrictEqual(await Deno.readFile(`${dir}/a`), await Deno.readFile(`${dir}/b`));
  deepStrictEqual((await readRecipe(`${dir}/a.recipe.json`)).random, { count: 4, seed: 42 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("corrupt --list shows what can be named", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "corrupt", QEMU, "--list"), 0);
  ok(ctx.outText().includes("serial@full"));
  ok(ctx.outText().includes("serial.serial.lsr = 0x60"));
  ok(ctx.outText().includes("subsection cpu/pmp"));
});

Deno.test("mistakes are usage errors that say what is wrong, and write nothing", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [["frob:1"], /unknown operation/],
    [["--set", "serial.nosuch=1"], /no field "serial\.nosuch"/],
    [["--set", "serial.lsr=256"], /does not fit serial\.serial\.lsr/],
    [["drop:serial", "--set", "serial.lsr=1"], /already removed or replaced/],
    [[], /no operations/],
    [["--seed", "3"], /--seed goes with --random/],
  ];
  for (const [words, re] of cases) {
    const ctx = captureContext();
    strictEqual(await run(ctx, "corrupt", QEMU, `${dir}/x`, ...words), 2, words.join(" "));
    ok(re.test(ctx.errText()), ctx.errText());
  }
  deepStrictEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});
