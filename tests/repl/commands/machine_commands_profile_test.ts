/**
 * Which machine the commands build: `--machine` on boot/run/snapshot/incoming, and the
 * `qemu-virt` profile picked by itself for a stream whose RAM blocks are QEMU riscv virt's
 * (incoming file:/exec:, load of an imported stream), sized from `riscv_virt_board.ram`.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { machineProfileType } from "../../../repl/commands/machine_commands_profile.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { captureContext, demoContext } from "../_io.ts";

const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;
const QEMU72 = new URL("../../fixtures/qemu72/", import.meta.url).pathname;
type Ctx = ReturnType<typeof captureContext>;
const run = (ctx: Ctx, ...argv: string[]) => runCommandLine(allCommands(), ctx, argv);

Deno.test("--machine takes virt or qemu-virt and names both in its error", () => {
  strictEqual(machineProfileType.parse!("qemu-virt"), "qemu-virt");
  try {
    machineProfileType.parse!("pc");
    ok(false, "pc was accepted");
  } catch (e) {
    ok(String(e).includes('Invalid --machine "pc": use virt or qemu-virt'), String(e));
  }
});

Deno.test("boot --machine qemu-virt builds QEMU's riscv virt; reset keeps the profile", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "boot", `${GUESTS}hello.elf`, "--machine", "qemu-virt"), 0);
  strictEqual(ctx.session.machine.profile, "qemu-virt");
  ok(ctx.outText().includes("machine qemu-virt"), ctx.outText());
  strictEqual(await run(ctx, "reset"), 0);
  strictEqual(ctx.session.machine.profile, "qemu-virt");
  strictEqual(await run(ctx, "boot", `${GUESTS}hello.elf`), 0);
  strictEqual(ctx.session.machine.profile, "virt", "without --machine: snapshell's own");
});

Deno.test("snapshot --machine qemu-virt writes QEMU's block list; incoming picks qemu-virt from it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapshell-profile-" });
  try {
    const ctx = await demoContext();
    const file = `${dir}/q.qemu`;
    const argv = ["snapshot", file, "--boot", `${GUESTS}hello.elf`, "--insns", "1000"];
    strictEqual(await run(ctx, ...argv, "--machine", "qemu-virt", "--ram", "8M"), 0);
    strictEqual(await run(ctx, "incoming", `file:${file}`), 0, ctx.errText());
    const m = ctx.session.machine;
    strictEqual(m.profile, "qemu-virt");
    strictEqual(m.ram.size, 8 << 20, "sized from riscv_virt_board.ram, not the block total");
    const saved = /after (\d+) instructions retired/.exec(ctx.outText())!;
    strictEqual(m.cpu.instret, Number(saved[1]), "the guest resumes where snapshot left it");
    // --machine virt insists, and the load says which block stands in the way.
    strictEqual(await run(ctx, "incoming", `file:${file}`, "--machine", "virt"), 1);
    ok(ctx.errText().includes('"virt.flash0"'), ctx.errText());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const name of ["virt-reset", "virt-running", "virt-icount"]) {
  Deno.test(`incoming (file: and a pipe) and load pick qemu-virt for QEMU's ${name} stream`, async () => {
    const file = `${QEMU72}${name}.qemu`;
    const ctx = await demoContext();
    strictEqual(await run(ctx, "incoming", `file:${file}`), 0, ctx.errText());
    strictEqual(ctx.session.machine.profile, "qemu-virt");
    strictEqual(ctx.session.machine.ram.size, 16 << 20);
    // A pipe cannot be probed ahead: the block list read by the load itself decides.
    strictEqual(await run(ctx, "incoming", `exec:cat ${file}`), 0, ctx.errText());
    strictEqual(ctx.session.machine.profile, "qemu-virt");
    strictEqual(await run(ctx, "import", file, "q"), 0, ctx.errText());
    strictEqual(await run(ctx, "load", "q"), 0, ctx.errText());
    strictEqual(ctx.session.machine.profile, "qemu-virt");
    strictEqual(ctx.session.machine.ram.size, 16 << 20);
  });
}

Deno.test("a stream without slirp (QEMU without a user netdev) loads, and the machine then saves none", async () => {
  const noNet = new VirtMachine({ profile: "qemu-virt", ramSize: 8 << 20, slirp: false });
  const w = new StreamWriter();
  await noNet.save(w);
  const bytes = w.take();
  const m = new VirtMachine({ profile: "qemu-virt", ramSize: 8 << 20 });
  strictEqual(m.qemuDevices!.slirp!.present, true);
  await m.load(StreamReader.fromBytes(bytes));
  strictEqual(m.qemuDevices!.slirp!.present, false, "the stream said: no netdev");
  const again = new StreamWriter();
  await m.save(again);
  const report = await new VirtMachine({ profile: "qemu-virt", ramSize: 8 << 20, slirp: false })
    .load(StreamReader.fromBytes(again.take()));
  ok(!report.sections.some((s) => s.idstr === "slirp"), "no slirp section is sent");
  // A stream with slirp brings it back.
  const withNet = new StreamWriter();
  await new VirtMachine({ profile: "qemu-virt", ramSize: 8 << 20 }).save(withNet);
  await m.load(StreamReader.fromBytes(withNet.take()));
  strictEqual(m.qemuDevices!.slirp!.present, true);
});
