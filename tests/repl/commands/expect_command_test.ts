import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { demoContext } from "../_io.ts";

const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);
const TRUNCATED = new URL("../../../snapshots/examples/data/demo-truncated.qevm", import.meta.url)
  .pathname;

Deno.test("expect console contains / not contains", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "expect", "console", "contains", "snapshell demo guest"), 0);
  ok(ctx.outText().includes('ok: console contains "snapshell demo guest"'));
  strictEqual(await run(ctx, "expect", "console", "not", "contains", "panic"), 0);
  strictEqual(await run(ctx, "expect", "console", "contains", "panic"), 1);
  ok(ctx.errText().includes('ExpectationError: console does not contain "panic"'), ctx.errText());
  strictEqual(await run(ctx, "expect", "console", "has", "x"), 2);
});

Deno.test("expect reg and expect field compare with == != < <= > >=", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "expect", "reg", "pc", "==", "0x80000000"), 0);
  strictEqual(await run(ctx, "expect", "reg", "pc", ">=", "2147483648"), 0);
  strictEqual(await run(ctx, "expect", "reg", "a0", "!=", "1"), 0);
  strictEqual(await run(ctx, "expect", "reg", "pc", "<", "0x80000000"), 1);
  ok(ctx.errText().includes("pc is 0x80000000, expected < 0x80000000"));
  strictEqual(await run(ctx, "expect", "reg", "pc", "=~", "1"), 2);
  strictEqual(await run(ctx, "expect", "reg", "q7", "==", "1"), 2);
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "expect", "field", "uart0.serial.lsr", "==", "0x60"), 0);
  strictEqual(await run(ctx, "expect", "field", "uart0.serial.lsr", "==", "-1"), 1);
});

Deno.test("expect load NAME fails KIND checks the kind and changes nothing", async () => {
  const ctx = await demoContext();
  const m = ctx.session.machine;
  await run(ctx, "import", TRUNCATED, "cut");
  await run(ctx, "save", "good");
  strictEqual(await run(ctx, "expect", "load", "cut", "fails", "corrupt"), 0);
  strictEqual(await run(ctx, "expect", "load", "cut", "fails"), 0);
  strictEqual(await run(ctx, "expect", "load", "cut", "fails", "incompatible"), 1);
  ok(ctx.errText().includes("failed as corrupt, expected incompatible"));
  strictEqual(await run(ctx, "expect", "load", "good", "fails"), 1);
  ok(ctx.errText().includes('load "good" succeeded, expected it to fail'));
  strictEqual(await run(ctx, "expect", "load", "good", "succeeds"), 0);
  strictEqual(await run(ctx, "expect", "load", "cut", "fails", "badly"), 2);
  strictEqual(await run(ctx, "expect", "load", "missing", "fails"), 1, "a typo is not a pass");
  strictEqual(ctx.session.machine, m);
});

Deno.test("expect equal compares snapshots and the machine", async () => {
  const ctx = await demoContext();
  await run(ctx, "save", "a");
  strictEqual(await run(ctx, "expect", "equal", "machine", "a"), 0);
  await run(ctx, "run", "1000");
  strictEqual(await run(ctx, "expect", "equal", "machine", "a"), 1);
  ok(ctx.errText().includes("ExpectationError: machine and a differ"));
  ok(ctx.outText().includes("env.pc"), "the differences are shown");
});

Deno.test("expect exit checks the guest's exit status", async () => {
  const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;
  const ctx = await demoContext();
  strictEqual(await run(ctx, "expect", "exit", "0"), 1);
  ok(ctx.errText().includes("the guest has not exited"));
  await run(ctx, "run", `${GUESTS}hello.elf`, "--ram", "16M");
  strictEqual(await run(ctx, "expect", "exit", "0"), 0);
  strictEqual(await run(ctx, "expect", "exit", "1"), 1);
  strictEqual(await run(ctx, "expect", "wobble"), 2);
});
