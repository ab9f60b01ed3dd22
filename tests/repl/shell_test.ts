import { ok, strictEqual } from "node:assert/strict";
import { runLine, runScript } from "../../repl/shell.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext } from "./_io.ts";

const GUESTS = new URL("../../emu/guests/build/", import.meta.url).pathname;

Deno.test("runLine() treats blank lines and comments as no-ops and quit as the end", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "   "), 0);
  strictEqual(await runLine(allCommands(), ctx, "# note"), 0);
  strictEqual(await runLine(allCommands(), ctx, "quit"), "quit");
});

Deno.test("runLine() reports an unknown command without throwing", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "frobnicate now"), 2);
  ok(ctx.errText().includes("unknown command"), ctx.errText());
});

Deno.test("help and help CMD are generated from the definitions", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "help"), 0);
  for (const d of allCommands()) ok(ctx.outText().includes(d.name), d.name);
  const c2 = captureContext();
  strictEqual(await runLine(allCommands(), c2, "help run"), 0);
  ok(c2.outText().includes("--max-insns"), c2.outText());
});

Deno.test("runScript() stops at the first failing line and names it", async () => {
  const ctx = captureContext();
  const script =
    `# a script\nrun ${GUESTS}hello.elf --ram 16M\nrun /nonexistent.elf\nrun ${GUESTS}hello.elf\n`;
  strictEqual(await runScript(allCommands(), ctx, script, "demo.snapshell"), 1);
  ok(ctx.errText().includes("demo.snapshell:3:"), ctx.errText());
  strictEqual(ctx.rawText(), "Hello from snapshell guest\n");
});
