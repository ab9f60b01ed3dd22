import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { demoContext } from "../_io.ts";

const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

async function saveTo(ctx: Awaited<ReturnType<typeof demoContext>>, path: string) {
  const w = new StreamWriter();
  await ctx.session.machine.save(w);
  await Deno.writeFile(path, w.take());
}

Deno.test("replay FILE compares with the current machine when FILE is a snapshot of it, else with itself", async () => {
  const ctx = await demoContext();
  ctx.session.machine.run(300_000);
  const file = await Deno.makeTempFile();
  await saveTo(ctx, file);
  strictEqual(await run(ctx, "replay", file, "--insns", "200000"), 0, ctx.errText());
  ok(
    /replay: identical to the source machine for 200000 instructions/.test(ctx.outText()),
    ctx.outText(),
  );
  ctx.session.machine.run(1000);
  ctx.clear();
  strictEqual(await run(ctx, "replay", file, "--insns", "20000"), 0, ctx.errText());
  ok(
    /identical to .* loaded again \(a determinism check; --against REF compares with another\)/
      .test(ctx.outText()),
    ctx.outText(),
  );
});

Deno.test("replay FILE --against REF reports the first divergence, also as JSON", async () => {
  const ctx = await demoContext();
  ctx.session.machine.run(300_000);
  const [a, b] = [await Deno.makeTempFile(), await Deno.makeTempFile()];
  await saveTo(ctx, a);
  ctx.session.machine.run(20_000);
  await saveTo(ctx, b);
  strictEqual(await run(ctx, "replay", a, "--against", b, "--insns", "1000"), 1);
  ok(
    /diverges from .* after 0 instructions .*: device \S+, field \S+/.test(ctx.outText()),
    ctx.outText(),
  );
  ctx.clear();
  strictEqual(await run(ctx, "replay", a, "--against", a, "--insns", "1000", "--json"), 0);
  const j = JSON.parse(ctx.outText());
  strictEqual(j.identical, true);
  strictEqual(j.insns, 1000);
});

Deno.test("replay of a file that does not exist is a usage error", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "replay", "/nonexistent/snap"), 2);
  ok(/No file or stored snapshot/.test(ctx.errText()));
});

Deno.test("replay takes a stored snapshot's name", async () => {
  const ctx = await demoContext();
  ctx.session.machine.run(300_000);
  strictEqual(await run(ctx, "save", "here"), 0, ctx.errText());
  ctx.clear();
  strictEqual(
    await run(ctx, "replay", "here", "--insns", "50000"),
    0,
    ctx.errText() + ctx.outText(),
  );
  ok(/identical/.test(ctx.outText()));
});
