import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { BusError } from "../../../../emu/errors.ts";
import {
  createFwCfgState,
  DMA_CTL,
  FwCfg,
  validateFwCfg,
  vmstateFwCfg,
} from "../../../../emu/devices/qemu/fw_cfg.ts";
import { assertRejected, loadBytes, saveBytes } from "../_helpers.ts";
import { assertEntryMatches, loadAndResave, probedReads } from "./_qemu.ts";

/** A guest's 16-bit big-endian selector write as a little-endian hart performs it. */
function select(f: FwCfg, key: number): void {
  f.write(8, 2, ((key & 0xff) << 8) | (key >> 8));
}

function readBytes(f: FwCfg, n: number): number[] {
  return Array.from({ length: n }, () => f.read(0, 1));
}

Deno.test("the signature is selected at reset and reads in string order", () => {
  const f = new FwCfg();
  assertEquals(f.read(0, 4), 0x554d4551); // "QEMU" as bytes in memory
  assertEquals(f.read(0, 4), 0); // past the end: zeros
  select(f, 0x0001);
  assertEquals(f.read(0, 4), 3); // id: traditional interface + DMA
});

Deno.test("the file directory lists virt's three files, sorted, with their keys", () => {
  const f = new FwCfg({ cpus: 1, nographic: true });
  select(f, 0x19);
  const dir = readBytes(f, 4 + 3 * 64);
  const view = new DataView(new Uint8Array(dir).buffer);
  const name = (i: number) =>
    new TextDecoder().decode(new Uint8Array(dir.slice(4 + i * 64 + 8, 4 + i * 64 + 64)))
      .replace(/\0+$/, "");
  assertEquals(view.getUint32(0), 3);
  assertEquals(
    [0, 1, 2].map((i) => [name(i), view.getUint32(4 + i * 64), view.getUint16(8 + i * 64)]),
    [
      ["bios-geometry", 0, 0x20],
      ["bootorder", 0, 0x21],
      ["etc/boot-fail-wait", 4, 0x22],
    ],
  );
  select(f, 0x22);
  assertEquals(f.read(0, 4), 0xffffffff);
  select(f, 0x04);
  assertEquals(f.read(0, 2), 1);
  select(f, 0x05);
  assertEquals(f.read(0, 2), 1);
});

Deno.test("keys past the file slots select nothing; reads give 0", () => {
  const f = new FwCfg();
  select(f, 0x40);
  assertEquals([f.state.curEntry, f.read(0, 4)], [0xffff, 0]);
});

Deno.test("the DMA register reads 'QEMU CFG'; bad accesses fault", () => {
  const f = new FwCfg();
  assertEquals([f.read(0x10, 4), f.read(0x14, 4)], [0x554d4551, 0x47464320]);
  throws(() => f.read(8, 2), BusError);
  throws(() => f.read(4, 4), BusError);
  throws(() => f.write(8, 4, 0), BusError);
  throws(() => f.write(0x12, 2, 0), BusError);
});

Deno.test("a DMA select+read copies the item into guest memory and clears the control word", () => {
  const mem = new Uint8Array(0x1000);
  const f = new FwCfg({
    dma: {
      read: (a, n) => (a + n <= mem.length ? mem.slice(a, a + n) : null),
      write: (a, b) => {
        if (a + b.length > mem.length) return false;
        mem.set(b, a);
        return true;
      },
    },
  });
  const d = new DataView(mem.buffer);
  d.setUint32(0x100, (0x0000 << 16) | DMA_CTL.SELECT | DMA_CTL.READ);
  d.setUint32(0x104, 6); // 4 bytes of signature, then 2 zero bytes
  d.setBigUint64(0x108, 0x200n);
  mem.fill(0xaa, 0x200, 0x208);
  f.write(0x10, 4, 0);
  f.write(0x14, 4, 0x00010000); // be32 0x100 written by a little-endian hart
  assertEquals([...mem.subarray(0x200, 0x208)], [0x51, 0x45, 0x4d, 0x55, 0, 0, 0xaa, 0xaa]);
  assertEquals([d.getUint32(0x100), f.state.dmaAddr], [0, 0n]);
  d.setUint32(0x100, DMA_CTL.WRITE);
  d.setUint32(0x104, 1);
  f.write(0x14, 4, 0x00010000);
  assertEquals(d.getUint32(0x100), DMA_CTL.ERROR);
});

Deno.test("vmdesc entry equals QEMU 7.2's (cur_offset[1] and fw_cfg/dma v0)", () => {
  assertEntryMatches("virt-running", "fw_cfg", vmstateFwCfg, createFwCfgState());
});

Deno.test("QEMU's fw_cfg sections load and save back byte for byte", () => {
  for (const s of ["virt-reset", "virt-running", "virt-icount"] as const) {
    assertEquals(loadAndResave(s, "fw_cfg", vmstateFwCfg, createFwCfgState()), createFwCfgState());
  }
});

Deno.test("a version 1 stream carries a 16-bit cur_offset", () => {
  const into = createFwCfgState();
  loadBytes(vmstateFwCfg, into, new Uint8Array([0x00, 0x19, 0x00, 0x04]), 1);
  assertEquals([into.curEntry, into.curOffset], [0x19, 4]);
  assertEquals(saveBytes(vmstateFwCfg, into).length, 2 + 4 + 1 + 1 + 10 + 4 + 8);
});

Deno.test("postLoad rejects keys past the slots and offsets past the item", async () => {
  const v = (p: Partial<ReturnType<typeof createFwCfgState>>) => () =>
    validateFwCfg({ ...createFwCfgState(), ...p });
  throws(v({ curEntry: 0x40 }), /past the last file slot/);
  throws(v({ curEntry: 0, curOffset: 5 }), /past the end of item 0x0 \(4 bytes\)/);
  throws(v({ curEntry: 0xffff, curOffset: 1 }), /no item selected/);
  v({ curEntry: 0x19, curOffset: 2052 })();
  const src = new FwCfg();
  src.state.curOffset = 9;
  await assertRejected(src, new FwCfg(), /past the end/);
});

Deno.test("answers the reads real QEMU 7.2 answered, in the same order", () => {
  const f = new FwCfg();
  const reads = probedReads().filter((r) => r.addr >= 0x10100000 && r.addr < 0x10100018);
  assertEquals(reads.length, 4);
  for (const r of reads) assertEquals([r.addr, f.read(r.addr - 0x10100000, 4)], [r.addr, r.value]);
});
