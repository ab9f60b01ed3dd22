import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  FW_DYNAMIC_INFO_MAGIC,
  fwDynamicInfo,
  MROM_BASE,
  resetRomImage,
  resetVector,
  RomDevice,
} from "../../../emu/boot/reset_rom.ts";

Deno.test("resetVector() is QEMU 7.2's rv32 reset vector with start and fdt dwords", () => {
  assertEquals(
    Array.from(resetVector(0x8000_0000, 0x87e0_0000)),
    [
      0x00000297,
      0x02828613,
      0xf1402573,
      0x0202a583,
      0x0182a283,
      0x00028067,
      0x8000_0000,
      0,
      0x87e0_0000,
      0,
    ],
  );
});

Deno.test("the vector's loads and addi reach the dwords and the info block after it", () => {
  // auipc t0,0 → t0 = 0x1000; decode the I-type immediates instead of trusting the comments.
  const v = resetVector(0, 0);
  const imm = (w: number) => w >> 20;
  assertEquals(imm(v[1]), 40); // addi a2, t0, 40 → fw_dynamic_info right after the ten words
  assertEquals(imm(v[3]), 32); // lw a1, 32(t0) → fdt address (word 8)
  assertEquals(imm(v[4]), 24); // lw t0, 24(t0) → start address (word 6)
  assertEquals((v[2] >>> 20) & 0xfff, 0xf14); // csrr a0, mhartid
  assertEquals((v[2] >>> 7) & 31, 10); // rd = a0
});

Deno.test("fwDynamicInfo() holds magic, version 2, next_addr, next_mode S, options 0, hart 0", () => {
  assertEquals(Array.from(fwDynamicInfo(0x8040_0000)), [
    FW_DYNAMIC_INFO_MAGIC,
    2,
    0x8040_0000,
    1,
    0,
    0,
  ]);
  assertEquals(FW_DYNAMIC_INFO_MAGIC, 0x4942534f); // "OSBI" little-endian
});

Deno.test("resetRomImage() lays out the vector then the info block, little-endian", () => {
  const img = resetRomImage(0x8000_0000, 0x87e0_0000, 0x8040_0000);
  assertEquals(img.length, 64);
  const dv = new DataView(img.buffer);
  assertEquals(dv.getUint32(0, true), 0x00000297);
  assertEquals(dv.getUint32(24, true), 0x8000_0000);
  assertEquals(dv.getUint32(32, true), 0x87e0_0000);
  assertEquals(dv.getUint32(40, true), FW_DYNAMIC_INFO_MAGIC);
  assertEquals(dv.getUint32(48, true), 0x8040_0000);
  assertEquals(img.subarray(0, 4), Uint8Array.of(0x97, 0x02, 0, 0));
});

Deno.test("RomDevice reads little-endian, ignores writes and zero-fills after a reload", () => {
  const rom = new RomDevice(0x100);
  rom.load(Uint8Array.of(1, 2, 3, 4, 5, 6));
  assertEquals(rom.read(0, 4), 0x04030201);
  assertEquals(rom.read(4, 2), 0x0605);
  assertEquals(rom.read(5, 1), 6);
  rom.write(0, 4, 0xdeadbeef);
  assertEquals(rom.read(0, 4), 0x04030201);
  rom.load(Uint8Array.of(9));
  assertEquals(rom.read(0, 4), 9);
  assertEquals(rom.sections(), []);
  assertEquals(MROM_BASE, 0x1000);
});
