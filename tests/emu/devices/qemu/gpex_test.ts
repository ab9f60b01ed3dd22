import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  createGpexState,
  GPEX_ROOT_IDSTR,
  GpexHost,
  PciUnassignedWindow,
  validateGpexRoot,
  vmstateGpexRoot,
  vmstatePciBus,
  vmstatePciHost,
} from "../../../../emu/devices/qemu/gpex.ts";
import { assertRejected, loadBytes, saveBytes } from "../_helpers.ts";
import { assertEntryMatches, loadAndResave, probedReads } from "./_qemu.ts";

const ecam = (bus: number, dev: number, fn: number, reg: number) =>
  (bus << 20) | (dev << 15) | (fn << 12) | reg;

Deno.test("00:00.0 is the Red Hat PCIe host bridge; every other function reads all ones", () => {
  const g = new GpexHost();
  assertEquals([g.read(0, 4), g.read(8, 4), g.read(0x2c, 4), g.read(0x0a, 2)], [
    0x00081b36,
    0x06000000,
    0x11001af4,
    0x0600,
  ]);
  assertEquals(
    [g.read(ecam(0, 1, 0, 0), 4), g.read(ecam(0, 0, 1, 0), 2), g.read(ecam(1, 0, 0, 0), 1)],
    [0xffffffff, 0xffff, 0xff],
  );
  assertEquals(g.read(0x100, 4), 0xffffffff); // past a conventional device's 256 bytes
});

Deno.test("writes change only writable bits; ids stay; w1c status bits clear", () => {
  const g = new GpexHost();
  g.write(0, 4, 0xffffffff);
  g.write(4, 4, 0xffffffff);
  g.write(0x3c, 1, 0x2a);
  g.write(0x40, 4, 0x12345678);
  assertEquals([g.read(0, 4), g.read(4, 4), g.read(0x3c, 1), g.read(0x40, 4)], [
    0x00081b36,
    0x00000507,
    0x2a,
    0x12345678,
  ]);
  g.write(ecam(0, 3, 0, 4), 4, 0xffffffff); // no device: ignored
  assertEquals(g.read(ecam(0, 3, 0, 4), 4), 0xffffffff);
});

Deno.test("vmdesc entries equal QEMU 7.2's for gpex_root, PCIHost and PCIBUS", () => {
  const s = createGpexState();
  assertEntryMatches("virt-running", GPEX_ROOT_IDSTR, vmstateGpexRoot, s.root);
  assertEntryMatches("virt-running", "PCIHost", vmstatePciHost, s.host);
  assertEntryMatches("virt-running", "PCIBUS", vmstatePciBus, s.bus);
});

Deno.test("QEMU's three PCI sections load, equal our reset state, and save back byte for byte", () => {
  for (const stream of ["virt-reset", "virt-running", "virt-icount"] as const) {
    const s = createGpexState();
    assertEquals(
      loadAndResave(stream, GPEX_ROOT_IDSTR, vmstateGpexRoot, createGpexState().root),
      s.root,
    );
    assertEquals(loadAndResave(stream, "PCIHost", vmstatePciHost, { configReg: 7 }), s.host);
    assertEquals(loadAndResave(stream, "PCIBUS", vmstatePciBus, createGpexState().bus), s.bus);
  }
});

Deno.test("a guest-written header round-trips through the section", () => {
  const g = new GpexHost();
  g.write(4, 2, 0x0006);
  g.write(0x80, 4, 0xdeadbeef);
  const into = createGpexState().root;
  loadBytes(vmstateGpexRoot, into, saveBytes(vmstateGpexRoot, g.root));
  assertEquals(into, g.root);
});

Deno.test("postLoad rejects changed ids and read-only bits, pin levels and counts", async () => {
  const bad = (f: (c: Uint8Array) => void) => () => {
    const d = createGpexState().root.parentObj;
    f(d.config);
    validateGpexRoot(d);
  };
  throws(bad((c) => (c[0] = 0x37)), /Bad config data at 0x0/); // QEMU rejects this too
  throws(bad((c) => (c[0x2c] = 0)), /Bad config data at 0x2c/); // QEMU would accept it
  const src = new GpexHost();
  src.root.parentObj.irqState[2] = 1;
  await assertRejected(src, new GpexHost(), /no interrupt pin/);
  const src2 = new GpexHost();
  src2.bus.irqCount[0] = 1;
  await assertRejected(src2, new GpexHost(), /irq_count/);
  const src3 = new GpexHost();
  src3.bus.nirq = 3;
  src3.bus.irqCount = [0, 0, 0];
  await assertRejected(src3, new GpexHost(), /nirq/);
});

Deno.test("an irq state other than 0/1 and a newer PCIDevice version are refused", () => {
  const bytes = saveBytes(vmstateGpexRoot, createGpexState().root);
  const v = new DataView(bytes.buffer);
  v.setUint32(4 + 256, 2);
  throws(() => loadBytes(vmstateGpexRoot, createGpexState().root, bytes), /must be 0 or 1/);
  const b2 = saveBytes(vmstateGpexRoot, createGpexState().root);
  new DataView(b2.buffer).setInt32(0, 3);
  throws(() => loadBytes(vmstateGpexRoot, createGpexState().root, b2));
});

Deno.test("answers the ECAM reads real QEMU 7.2 answered", () => {
  const g = new GpexHost();
  const reads = probedReads().filter((r) => r.addr >= 0x30000000 && r.addr < 0x40000000);
  assertEquals(reads.length, 20);
  for (const r of reads) assertEquals([r.addr, g.read(r.addr - 0x30000000, 4)], [r.addr, r.value]);
});

Deno.test("an unassigned PCI window reads all ones at every size and ignores writes", () => {
  const w = new PciUnassignedWindow();
  w.write(0, 4, 0x1234_5678);
  w.write(0xfffc, 1, 0);
  assertEquals([w.read(0, 4), w.read(2, 2), w.read(0xffff, 1)], [0xffff_ffff, 0xffff, 0xff]);
  assertEquals(w.sections(), []);
});
