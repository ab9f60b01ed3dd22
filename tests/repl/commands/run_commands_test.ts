import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { captureContext, demoContext, until } from "../_io.ts";

const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;
const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("run prints the guest's console and exits with its status", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--ram", "16M"), 0);
  strictEqual(ctx.rawText(), "Hello from snapshell guest\n");
});

Deno.test("run --stats prints insns, seconds and mips as JSON on stderr", async () => {
  const ctx = captureContext();
  await run(ctx, "run", `${GUESTS}compute-small.elf`, "--ram", "16M", "--stats");
  const stats = JSON.parse(ctx.errText());
  ok(stats.insns > 400_000);
  ok(typeof stats.seconds === "number" && typeof stats.mips === "number");
});

Deno.test("run stops at --max-cycles and says so with exit 124", async () => {
  const ctx = captureContext();
  strictEqual(
    await run(ctx, "run", `${GUESTS}compute.elf`, "--ram", "16M", "--max-cycles", "10000"),
    124,
  );
  ok(
    ctx.errText().includes(
      "stopped at the --max-cycles limit after 10000 cycles (10000 " +
        "instructions retired)",
    ),
    ctx.errText(),
  );
});

Deno.test("run rejects a file that is not an ELF with a clear message", async () => {
  const ctx = captureContext();
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "not an elf at all");
  strictEqual(await run(ctx, "run", path), 1);
  ok(/ElfError: Not an ELF file/.test(ctx.errText()), ctx.errText());
  strictEqual(await run(ctx, "run", "/nonexistent/guest.elf"), 1);
  ok(ctx.errText().includes("Cannot read ELF"));
});

Deno.test("a wrong option is a usage error with exit 2", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--bogus"), 2);
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--ram", "12 parsecs"), 2);
});

Deno.test("run N, run for TIME and run until TEXT drive the session's machine", async () => {
  const ctx = await demoContext();
  const m = ctx.session.machine;
  strictEqual(await run(ctx, "run", "1000"), 0);
  strictEqual(m.cpu.cycle, 1000);
  strictEqual(await run(ctx, "run", "for", "1ms"), 0);
  strictEqual(m.cpu.cycle, 1000 + 100_000);
  strictEqual(await run(ctx, "run", "until", "heartbeat 1 "), 0);
  ok(m.consoleText.includes("heartbeat 1 ") && !m.consoleText.includes("heartbeat 2"));
  ok(
    /"heartbeat 1 " appeared after \d+ cycles \(\d+ instructions retired\); now pc 0x8/.test(
      ctx.outText(),
    ),
    ctx.outText(),
  );
  ok(/^ran 1000 cycles \(1000 instructions retired\); now pc /m.test(ctx.outText()));
  ok(!/cycles after \d+ cycles/.test(ctx.outText()), "each figure once, named");
});

Deno.test("run until gives up at --max-cycles with exit 1 and says the text did not appear", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "run", "until", "never printed", "--max-cycles", "20000"), 1);
  ok(
    ctx.errText().startsWith('"never printed" did not appear: gave up after 20000 cycles ('),
    ctx.errText(),
  );
  ok(!ctx.errText().includes("appeared"), ctx.errText());
});

Deno.test("run without a bound needs the interactive shell; bad words are usage errors", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "run"), 2);
  ok(ctx.errText().includes("needs the interactive shell"));
  strictEqual(await run(ctx, "run", "for", "soon"), 2);
  strictEqual(await run(ctx, "run", "until"), 2);
  strictEqual(await run(ctx, "run", "100", "more"), 2);
  strictEqual(ctx.session.machine.cpu.cycle, 0, "nothing ran");
});

Deno.test("run in the background (shell) keeps going until stop", async () => {
  const ctx = { ...(await demoContext()), interactive: true };
  strictEqual(await run(ctx, "run"), 0);
  ok(ctx.session.active?.background);
  strictEqual(await run(ctx, "run", "10"), 2, "a second run is refused");
  strictEqual(await run(ctx, "step"), 2, "step is refused while running");
  await until(() => ctx.session.machine.consoleText.includes("heartbeat every"));
  strictEqual(await run(ctx, "stop"), 0);
  strictEqual(ctx.session.active, undefined);
  ok(/stopped after \d+ cycles/.test(ctx.outText()), ctx.outText());
  strictEqual(await run(ctx, "stop"), 0);
  ok(ctx.outText().includes("the guest is not running"));
});

Deno.test("step executes instructions one at a time", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "step"), 0);
  strictEqual(ctx.session.machine.cpu.instret, 1);
  ok(
    ctx.outText().startsWith(
      "0x80000000 -> 0x80000004 after 1 instruction retired (1 cycle); next instruction 0x",
    ),
    ctx.outText(),
  );
  strictEqual(await run(ctx, "step", "5"), 0);
  strictEqual(ctx.session.machine.cpu.instret, 6);
});

Deno.test("step N retires N instructions even when the hart waits in WFI meanwhile", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  const m = ctx.session.machine;
  const before = m.cpu.instret;
  const cycles = m.cpu.cycle;
  ctx.clear();
  strictEqual(await run(ctx, "step", "20000"), 0);
  strictEqual(m.cpu.instret - before, 20000);
  ok(m.cpu.cycle - cycles > 20000, "idle cycles passed too");
  ok(/after 20000 instructions retired \(\d+ cycles\)/.test(ctx.outText()), ctx.outText());
});
