import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { demoContext } from "../_io.ts";

const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

async function demoFile(ctx: Awaited<ReturnType<typeof demoContext>>): Promise<string> {
  ctx.session.machine.run(500_000);
  const w = new StreamWriter();
  await ctx.session.machine.save(w);
  const file = await Deno.makeTempFile();
  await Deno.writeFile(file, w.take());
  return file;
}

Deno.test("fuzz --json prints counts per class, bugs, loads per second and where bugs go", async () => {
  const ctx = await demoContext();
  const file = await demoFile(ctx);
  const out = await Deno.makeTempDir();
  strictEqual(
    await run(
      ctx,
      "fuzz",
      file,
      "--iterations",
      "300",
      "--seed",
      "5",
      "--workers",
      "0",
      "--json",
      "--out",
      out,
    ),
    0,
    ctx.errText(),
  );
  const j = JSON.parse(ctx.outText());
  strictEqual(j.iterations, 300);
  strictEqual(j.seed, 5);
  strictEqual(Object.values(j.counts as Record<string, number>).reduce((a, b) => a + b, 0), 300);
  strictEqual(j.bugs, 0);
  ok(j.loadsPerSecond > 0);
  strictEqual(j.savedTo, null);
});

Deno.test("fuzz prints a summary table and says there were no bugs", async () => {
  const ctx = await demoContext();
  const file = await demoFile(ctx);
  strictEqual(
    await run(ctx, "fuzz", file, "--iterations", "200", "--seed", "9", "--workers", "1"),
    0,
  );
  const text = ctx.outText();
  ok(/^class\s+cases\s+share\s+meaning/m.test(text), text);
  ok(/^rejected\s+\d+/m.test(text));
  ok(/fuzz: 200 cases of .* \(seed 9\) .* loads\/s/.test(text), text);
  ok(text.includes("fuzz: no bugs"));
});

Deno.test("fuzz rejects a zero iteration count and a seed that is not a number", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "fuzz", "x", "--iterations", "0"), 2);
  strictEqual(await run(ctx, "fuzz", "x", "--seed", "abc"), 2);
  ok(/Invalid --seed "abc"/.test(ctx.errText()), ctx.errText());
});

Deno.test("fuzz --shard K/N over N machines, joined by fuzz merge, equals the single-machine campaign", async () => {
  const ctx = await demoContext();
  const file = await demoFile(ctx);
  const root = await Deno.makeTempDir();
  try {
    const common = ["--iterations", "240", "--seed", "11", "--workers", "0", "--json"];
    strictEqual(await run(ctx, "fuzz", file, ...common, "--out", `${root}/whole`), 0);
    const whole = JSON.parse(ctx.outText());
    const dirs = [1, 2, 3].map((k) => `${root}/shard-${k}`);
    for (const [i, dir] of dirs.entries()) {
      ctx.clear();
      strictEqual(
        await run(ctx, "fuzz", file, ...common, "--shard", `${i + 1}/3`, "--out", dir),
        0,
        ctx.errText(),
      );
      const part = JSON.parse(ctx.outText());
      strictEqual(part.shard, `${i + 1}/3`);
      strictEqual(part.casesRun, [80, 80, 80][i]);
    }
    ctx.clear();
    strictEqual(await run(ctx, "fuzz", "merge", ...dirs, "--json", "--out", `${root}/all`), 0);
    const merged = JSON.parse(ctx.outText());
    deepStrictEqual(merged.counts, whole.counts);
    strictEqual(merged.bugs, whole.bugs);
    strictEqual(merged.iterations, 240);
    // The joined directory is itself a campaign: merging it alone gives the same again.
    const written = JSON.parse(await Deno.readTextFile(`${root}/all/campaign.json`));
    deepStrictEqual(written.counts, whole.counts);
    deepStrictEqual(written.shard, { k: 1, n: 1 });
    ctx.clear();
    strictEqual(await run(ctx, "fuzz", "merge", ...dirs.slice(0, 2)), 2);
    ok(/shard 3\/3 missing/.test(ctx.errText()), ctx.errText());
    ctx.clear();
    strictEqual(await run(ctx, "fuzz", "merge", ...dirs.slice(0, 2), "--partial", "--json"), 0);
    const part = JSON.parse(ctx.outText());
    strictEqual(part.cases, 160);
    deepStrictEqual(part.missing, [3]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fuzz --shard refuses a slice that is not K/N with 1 <= K <= N", async () => {
  const ctx = await demoContext();
  for (const bad of ["0/3", "4/3", "3", "a/b"]) {
    ctx.clear();
    strictEqual(await run(ctx, "fuzz", "x", "--shard", bad), 2, bad);
    ok(/Invalid --shard/.test(ctx.errText()), ctx.errText());
  }
});

Deno.test("fuzz --target qemu needs the QEMU command line after --; --differential needs qemu", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "fuzz", "x.qemu", "--target", "qemu"), 2);
  ok(/needs the QEMU command line after --/.test(ctx.errText()), ctx.errText());
  ctx.clear();
  strictEqual(await run(ctx, "fuzz", "x.qemu", "--differential"), 2);
  ok(/--differential compares with QEMU/.test(ctx.errText()), ctx.errText());
});
