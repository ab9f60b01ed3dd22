import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MigrationError } from "../../migration/errors.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { VirtMachine } from "../../emu/virt.ts";

const guest = (name: string) =>
  Deno.readFileSync(new URL(`../../emu/guests/build/${name}.elf`, import.meta.url));
const expected = (name: string) =>
  Deno.readTextFileSync(new URL(`../../emu/guests/expected/${name}.qemu.txt`, import.meta.url));

function boot(name: string, ramSize = 16 << 20): VirtMachine {
  const m = new VirtMachine({ ramSize });
  m.boot(guest(name));
  return m;
}

/** The guest's console as QEMU's -nographic shows it (no CR translation differences). */
const norm = (s: string) => s.replaceAll("\r\n", "\n").trim();

for (const name of ["hello", "timer", "compute-small"]) {
  Deno.test(`the ${name} guest prints what it prints on QEMU 7.2 and exits 0`, () => {
    const m = boot(name);
    const r = m.run(100_000_000);
    strictEqual(r.stop, "exit");
    strictEqual(r.exitCode, 0);
    strictEqual(norm(m.consoleText), norm(expected(name)));
  });
}

Deno.test("the uart-echo guest echoes typed input uppercased, as on QEMU 7.2", () => {
  const m = boot("uart-echo");
  m.run(200_000);
  m.sendInput("hello, snapshell\nabc xyz 123\nq");
  const r = m.run(50_000_000);
  strictEqual(r.exitCode, 0);
  strictEqual(norm(m.consoleText), norm(expected("uart-echo")));
});

Deno.test("the nvme exerciser passes on our NVMe-style device", () => {
  const m = boot("nvme");
  const r = m.run(50_000_000);
  strictEqual(r.exitCode, 0, m.consoleText);
  ok(m.consoleText.includes("0 failures: PASS"), m.consoleText);
});

async function save(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

Deno.test("a demo snapshot resumes with console output identical to the uninterrupted run", async () => {
  const src = boot("demo");
  src.run(3_000_000);
  src.sendInput("typed text\n");
  src.run(1_000_000);
  const snap = await save(src);
  const before = src.consoleText.length;
  src.run(120_000_000);
  const dst = new VirtMachine({ ramSize: 16 << 20 });
  await dst.load(StreamReader.fromBytes(snap));
  dst.run(120_000_000);
  ok(src.consoleText.length > before, "the source printed more after the snapshot");
  strictEqual(dst.consoleText, src.consoleText.slice(before));
  deepStrictEqual(await save(dst), await save(src));
});

Deno.test("a snapshot of the virt machine is rejected by a machine with other RAM, unchanged", async () => {
  const src = boot("demo");
  src.run(500_000);
  const snap = await save(src);
  const dst = boot("hello", 32 << 20);
  const before = await save(dst);
  let err: unknown;
  try {
    await dst.load(StreamReader.fromBytes(snap));
  } catch (e) {
    err = e;
  }
  ok(err instanceof MigrationError && err.kind === "incompatible", String(err));
  deepStrictEqual(await save(dst), before);
});

Deno.test("a load leaves no PLIC pending bit from an interrupt line that was high before it", async () => {
  // Regression (found by fuzz): the PLIC is committed before the UART, so at its commit the
  // UART's line still had its pre-load level and latched a pending bit the stream did not have.
  const blank = new VirtMachine({ ramSize: 1 << 20 });
  const w = new StreamWriter();
  await blank.save(w);
  const m = new VirtMachine({ ramSize: 1 << 20 });
  m.uart.write(1, 1, 0x01); // IER: received-data interrupt
  m.sendInput("x");
  m.run(1000);
  ok(m.plic.state.pending[0] & (1 << 10), "UART interrupt pending before the load");
  await m.load(StreamReader.fromBytes(w.take()));
  deepStrictEqual([...m.plic.state.pending], [...blank.plic.state.pending]);
});

Deno.test("qemu-virt: a flash program and erase are migrated, and only dirty flash pages are resent", async () => {
  const opts = { profile: "qemu-virt" as const, ramSize: 8 << 20, slirp: false };
  const src = new VirtMachine(opts);
  const flash1 = 0x2200_0000;
  src.bus.store(flash1 + 0x5000, 4, 0x40); // program one word in bank 1, page 5
  src.bus.store(flash1 + 0x5000, 4, 0xcafe_f00d);
  src.bus.store(flash1 + 0x4_0000, 4, 0x20); // erase the second 256 KiB sector: 64 pages of 0xff
  src.bus.store(flash1 + 0x4_0000, 4, 0xd0);
  src.bus.store(flash1, 4, 0xff);
  const dst = new VirtMachine(opts);
  await dst.load(StreamReader.fromBytes(await save(src)));
  const f = dst.qemuDevices!.flash1;
  strictEqual(dst.bus.load(flash1 + 0x5000, 4), 0xcafe_f00d);
  strictEqual(dst.bus.load(flash1 + 0x7_fffc, 4), 0xffff_ffff);
  deepStrictEqual(f.storage, src.qemuDevices!.flash1.storage);
  // A live migration: after the first pass only the pages written since are pending again.
  const ram = src.ramSection;
  ram.saveSetup(new StreamWriter());
  await ram.saveIterate(new StreamWriter());
  for (const at of [0x9000, 0xb000]) {
    src.bus.store(flash1 + at, 4, 0x40);
    src.bus.store(flash1 + at, 4, 0x1234_5678);
  }
  src.bus.store(flash1, 4, 0xff);
  deepStrictEqual(ram.syncDirty(), { dirtied: 2, pending: 2 });
  ram.cancel();
});

Deno.test("qemu-virt: the PCIe windows and empty virtio-mmio transports answer as on QEMU 7.2", () => {
  // virt-probe reads, writes and reads back the PCIe I/O and memory windows (all ones, writes
  // ignored), the ECAM window and the eight transports (magic, version 1, vendor; 0 elsewhere),
  // and the unmapped addresses right after them (access faults); QEMU's output is committed.
  const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
  m.boot(guest("virt-probe"));
  const r = m.run(10_000_000);
  strictEqual(r.exitCode, 0, m.consoleText);
  strictEqual(norm(m.consoleText), norm(expected("virt-probe")));
});
