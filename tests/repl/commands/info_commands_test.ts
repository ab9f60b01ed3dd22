import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { demoContext } from "../_io.ts";

const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("info devices lists devices, their sections and MMIO windows", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "info", "devices"), 0);
  ok(/uart0\s+serial\s+0x10000000\+0x100/.test(ctx.outText()), ctx.outText());
  ok(/aclint\s+riscv_mtimer, riscv_aclint_swi/.test(ctx.outText()));
});

Deno.test("info device shows fields by path with their types and subsections", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  ctx.clear();
  strictEqual(await run(ctx, "info", "device", "uart0"), 0);
  const out = ctx.outText();
  ok(out.startsWith("serial (version 3)"), out);
  ok(out.includes("  serial.lsr = 0x60 (uint8)"));
  ok(out.includes("  subsection serial/recv_fifo"));
  ctx.clear();
  strictEqual(await run(ctx, "info", "device", "cpu"), 0);
  ok(ctx.outText().includes("env.pc = 0x8"));
});

Deno.test("info machine says what runs and where the store is", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "info", "machine"), 0);
  ok(ctx.outText().includes("guest demo.elf"));
  ok(ctx.outText().includes(`paused: pc 0x80000000`));
  ok(ctx.outText().includes(`snapshot store: ${ctx.session.store.dir}`));
});

Deno.test("info with a wrong topic or device is a clear error", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "info", "gizmos"), 2);
  ok(ctx.errText().includes('Invalid topic "gizmos": use one of devices, device, machine'));
  strictEqual(await run(ctx, "info", "device"), 2);
  strictEqual(await run(ctx, "info", "device", "gpu"), 1);
  ok(ctx.errText().includes('No device or section named "gpu"'));
});

Deno.test("set changes a field; a bad value changes nothing", async () => {
  const ctx = await demoContext();
  await run(ctx, "run", "until", "heartbeat every");
  strictEqual(await run(ctx, "set", "cpu.env.gpr[10]", "0x1234"), 0);
  strictEqual(ctx.session.machine.cpu.state.x[10], 0x1234);
  ok(ctx.outText().includes("cpu.env.gpr[10]: 5 -> 0x1234"), ctx.outText());
  strictEqual(await run(ctx, "set", "cpu.env.gpr[11]", "-1"), 1, "-1 is a value, not an option");
  ok(ctx.errText().includes("Value -1 is out of range 0..4294967295"), ctx.errText());
  strictEqual(await run(ctx, "set", "uart0.serial.scr", "0x100"), 1);
  ok(ctx.errText().includes("out of range 0..255"));
  strictEqual(await run(ctx, "set", "uart0.nothing", "1"), 1);
});

Deno.test("set echoes the field as typed (the device's name, not the section's)", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "set", "uart0.serial.scr", "0x5a"), 0, ctx.errText());
  ok(/^uart0\.serial\.scr: 0 -> 0x5a$/m.test(ctx.outText()), ctx.outText());
  ok(!ctx.outText().includes("serial.serial.scr"), ctx.outText());
});

Deno.test("info status says running, paused or postmigrate as QEMU does", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "info", "status"), 0);
  strictEqual(ctx.outText(), "VM status: paused");
});
