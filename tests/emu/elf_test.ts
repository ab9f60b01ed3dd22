import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { loadElf, parseElf } from "../../emu/elf.ts";
import { ElfError, type ElfErrorReason } from "../../emu/errors.ts";
import { Ram } from "../../emu/ram.ts";

const ELF = Deno.readFileSync(new URL("../fixtures/isa/alu.elf", import.meta.url));

function rejects(bytes: Uint8Array, reason: ElfErrorReason, ram = new Ram(1 << 20)): void {
  throws(() => loadElf(bytes, ram), (e: unknown) => e instanceof ElfError && e.reason === reason);
}

function patched(edit: (b: Uint8Array, v: DataView) => void): Uint8Array {
  const b = ELF.slice();
  edit(b, new DataView(b.buffer));
  return b;
}

Deno.test("loadElf() copies PT_LOAD segments and finds the entry and tohost", () => {
  const ram = new Ram(1 << 20);
  const img = loadElf(ELF, ram);
  assertEquals(img.entry, 0x8000_0000);
  assertEquals(img.symbols.get("tohost"), 0x8000_1000);
  const seg = img.segments[0];
  assertEquals(ram.u8.subarray(0, 16), ELF.subarray(seg.offset, seg.offset + 16));
});

Deno.test("parseElf() rejects non-ELF, ELF64, big-endian and non-RISC-V files", () => {
  rejects(new TextEncoder().encode("#!/bin/sh\n"), "not-elf");
  rejects(new Uint8Array(0), "not-elf");
  rejects(patched((b) => b[4] = 2), "wrong-class");
  rejects(patched((b) => b[5] = 2), "wrong-endianness");
  rejects(patched((_, v) => v.setUint16(18, 62, true)), "wrong-machine");
  rejects(patched((_, v) => v.setUint16(16, 1, true)), "wrong-type");
});

Deno.test("parseElf() reports truncation as an ElfError, never a RangeError", () => {
  rejects(ELF.subarray(0, 40), "truncated");
  rejects(ELF.subarray(0, 60), "truncated");
  rejects(ELF.subarray(0, 0x1010), "truncated");
  rejects(patched((_, v) => v.setUint32(32, 0xffff_0000, true)), "truncated");
});

Deno.test("loadElf() rejects a segment outside RAM without writing anything", () => {
  const ram = new Ram(4096);
  rejects(ELF, "segment-outside-ram", ram); // second segment at +0x1000 is past a 4 KiB RAM
  assertEquals(ram.u8.every((b) => b === 0), true);
  rejects(patched((_, v) => v.setUint32(52 + 32 + 12, 0x1000, true)), "segment-outside-ram");
});

Deno.test("parseElf() rejects a segment whose file size exceeds its memory size", () => {
  throws(
    () => parseElf(patched((_, v) => v.setUint32(52 + 32 + 20, 1, true))),
    (e: unknown) => e instanceof ElfError && e.reason === "bad-segment",
  );
});
