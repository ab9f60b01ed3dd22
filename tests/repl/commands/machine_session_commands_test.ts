import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { hexdump } from "../../../repl/commands/machine_session_commands.ts";
import { demoContext } from "../_io.ts";

const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;
const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("boot installs a fresh machine paused at reset; reset boots the same guest again", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "run", "100000"), 0);
  strictEqual(await run(ctx, "boot", `${GUESTS}hello.elf`, "--ram", "16M"), 0);
  const m = ctx.session.machine;
  strictEqual(m.cpu.instret, 0);
  strictEqual(ctx.session.guest?.name, "hello.elf");
  ok(ctx.outText().includes("booted hello.elf (16 MiB RAM), paused at pc 0x80000000"));
  strictEqual(await run(ctx, "run", "1000000"), 0);
  ok(ctx.outText().includes("guest exited with status 0"));
  strictEqual(await run(ctx, "reset"), 0);
  ok(ctx.session.machine !== m);
  strictEqual(ctx.session.machine.cpu.instret, 0);
  strictEqual(ctx.session.machine.ram.size, 16 << 20);
  strictEqual(await run(ctx, "boot", "/nonexistent.elf"), 1);
  ok(ctx.errText().includes('Cannot read ELF "/nonexistent.elf"'));
});

Deno.test("regs shows every register", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "regs"), 0);
  for (const w of ["x0/zero", "x10/a0", "x31/t6", "pc=0x8", "mstatus=", "mtvec="]) {
    ok(ctx.outText().includes(w), w);
  }
});

Deno.test("mem dumps RAM and refuses addresses outside it", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "mem", "0x80000000", "20"), 0);
  const lines = ctx.outText().split("\n");
  strictEqual(lines.length, 2);
  ok(lines[0].startsWith("0x80000000  73 10 40 30"), lines[0]);
  strictEqual(await run(ctx, "mem", "0x10000000"), 2);
  strictEqual(await run(ctx, "mem", "0x80ffffff", "2"), 2);
  strictEqual(await run(ctx, "mem", "nowhere"), 2);
  strictEqual(await run(ctx, "mem", "0x80000000", "100000"), 2);
});

Deno.test("hexdump() prints 16 bytes a line with printable characters", () => {
  deepStrictEqual(hexdump(new TextEncoder().encode("Hi!\n"), 0x10), [
    "0x00000010  48 69 21 0a" + " ".repeat(39) + "|Hi!.|",
  ]);
});

Deno.test("send types into the UART and the demo guest echoes it; console shows it", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "type to echo");
  strictEqual(await run(ctx, "send", "hello", "guest"), 0);
  ok(ctx.outText().includes('sent "hello guest\\r" (12 bytes)'));
  await run(ctx, "run", "for", "50ms");
  ctx.clear();
  strictEqual(await run(ctx, "console", "--tail", "1"), 0);
  strictEqual(ctx.outText(), "hello guest");
  strictEqual(
    await run(ctx, "send", "--no-enter", "-x"),
    0,
    "words that look like options are text",
  );
  ok(ctx.outText().includes('sent "-x"'));
});
