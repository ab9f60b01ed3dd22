import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { demoContext, until } from "../_io.ts";

const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("save, snapshots, load: the loaded machine replaces the current one", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  const at = ctx.session.machine.cpu.instret;
  strictEqual(await run(ctx, "save", "first"), 0);
  ok(
    /saved "first": .* \d+ instructions retired, sha256 [0-9a-f]{16}/.test(ctx.outText()),
    ctx.outText(),
  );
  await run(ctx, "run", "for", "100ms");
  ctx.clear();
  strictEqual(await run(ctx, "snapshots"), 0);
  const table = ctx.outText().split("\n");
  ok(
    /^name\s+size\s+created\s+instructions\s+virtual time\s+machine\s+sha256$/.test(table[0]),
    table[0],
  );
  ok(
    new RegExp(
      `^first\\s+[\\d.]+ MiB\\s+\\S+ \\S+\\s+${at}\\s+400.000 us\\s+virt 16M\\s+[0-9a-f]{12}$`,
    )
      .test(table[1]),
    table[1],
  );
  strictEqual(await run(ctx, "load", "first"), 0);
  strictEqual(ctx.session.machine.cpu.instret, at);
});

Deno.test("a failed load prints why and leaves the machine as it was", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "for", "10ms");
  const m = ctx.session.machine;
  const pc = m.cpu.state.pc;
  strictEqual(await run(ctx, "load", "missing"), 1);
  ok(ctx.errText().includes('No snapshot named "missing"'));
  const file = await Deno.makeTempFile();
  const good = new URL("../../../snapshots/examples/data/demo-truncated.qevm", import.meta.url);
  await Deno.copyFile(good, file);
  strictEqual(await run(ctx, "import", file, "cut"), 0);
  strictEqual(await run(ctx, "load", "cut"), 1);
  ok(ctx.errText().includes("StreamTruncatedError [corrupt]"), ctx.errText());
  strictEqual(ctx.session.machine, m);
  strictEqual(m.cpu.state.pc, pc);
});

Deno.test("a snapshot changed on disk is reported as such on load", async () => {
  const ctx = await demoContext();
  await run(ctx, "save", "a");
  const meta = await ctx.session.store.get("a");
  const path = ctx.session.store.streamPath(meta);
  const bytes = await Deno.readFile(path);
  bytes[100] ^= 1;
  await Deno.writeFile(path, bytes);
  strictEqual(await run(ctx, "load", "a"), 1);
  ok(ctx.errText().includes('Snapshot "a" changed on disk since it was saved'), ctx.errText());
  strictEqual(await run(ctx, "snapshots", "--verify"), 1);
  ok(ctx.outText().includes("CHANGED"));
});

Deno.test("save refuses bad names and existing names without --force", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "save", "../escape"), 2);
  ok(ctx.errText().includes('Invalid snapshot name "../escape"'));
  strictEqual(await run(ctx, "save", "machine"), 2);
  strictEqual(await run(ctx, "save", "a"), 0);
  strictEqual(await run(ctx, "save", "a"), 1);
  ok(ctx.errText().includes('Snapshot "a" already exists: use --force to replace it'));
  strictEqual(await run(ctx, "save", "a", "--force"), 0);
});

Deno.test("save during a background run pauses it and resumes it", async () => {
  const ctx = { ...(await demoContext()), interactive: true };
  await run(ctx, "run", "--fast");
  const running = ctx.session.active;
  ok(running);
  strictEqual(await run(ctx, "save", "live"), 0);
  ok(ctx.session.active && ctx.session.active !== running, "a new run resumed the guest");
  const at = ctx.session.machine.cpu.instret;
  await until(() => ctx.session.machine.cpu.instret > at);
  await run(ctx, "stop");
  strictEqual(await run(ctx, "load", "live"), 0);
});

Deno.test("diff shows changed fields and pages; identical machines say so", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  await run(ctx, "save", "a");
  ctx.clear();
  strictEqual(await run(ctx, "diff", "a", "machine"), 0);
  strictEqual(ctx.outText(), "identical: every device field and every RAM page match");
  await run(ctx, "set", "uart0.serial.scr", "7");
  ctx.clear();
  strictEqual(await run(ctx, "diff", "a", "machine"), 0);
  ok(/serial\s+serial.scr\s+0\s+7/.test(ctx.outText()), ctx.outText());
  ok(ctx.outText().endsWith("1 field and 0 RAM pages differ"));
  strictEqual(await run(ctx, "diff", "a", "nothing"), 1);
});

Deno.test("export and import round-trip a snapshot; delete removes it", async () => {
  const ctx = await demoContext();
  await run(ctx, "save", "a");
  const out = `${await Deno.makeTempDir()}/a.qevm`;
  strictEqual(await run(ctx, "export", "a", out), 0);
  strictEqual(await run(ctx, "export", "a", out), 1, "no overwrite without --force");
  strictEqual(await run(ctx, "import", out, "b"), 0);
  strictEqual((await ctx.session.store.get("b")).sha256, (await ctx.session.store.get("a")).sha256);
  strictEqual(await run(ctx, "delete", "b"), 0);
  strictEqual(await run(ctx, "delete", "b"), 1);
  strictEqual(await run(ctx, "import", "/nonexistent", "c"), 1);
});

Deno.test("diff NAME compares a snapshot with the current machine", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "save", "a"), 0);
  ctx.clear();
  strictEqual(await run(ctx, "diff", "a"), 0, ctx.errText());
  ok(ctx.outText().startsWith(`diff: "a" (A) against the current machine (B)`), ctx.outText());
  ok(ctx.outText().includes("identical"), ctx.outText());
  await run(ctx, "run", "100000");
  ctx.clear();
  strictEqual(await run(ctx, "diff", "a"), 0);
  ok(/\d+ fields? and \d+ RAM pages? differ/.test(ctx.outText()), ctx.outText());
});

Deno.test("console after a load says there is no output since the load", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "save", "a"), 0);
  strictEqual(await run(ctx, "load", "a"), 0);
  ctx.clear();
  strictEqual(await run(ctx, "console"), 0);
  strictEqual(ctx.outText(), "(no output since load)");
});
