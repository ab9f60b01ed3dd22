/** Wire constants of the savevm stream (savevm.h). */
import { strictEqual } from "node:assert/strict";
import {
  MigCommand,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  RamFlag,
  SectionType,
  sectionTypeName,
} from "../../../migration/sections/constants.ts";

Deno.test("constants match QEMU's savevm.h values", () => {
  strictEqual(QEMU_VM_FILE_MAGIC, 0x5145564d);
  strictEqual(QEMU_VM_FILE_VERSION, 3);
  strictEqual(SectionType.FOOTER, 0x7e);
  strictEqual(SectionType.CONFIGURATION, 0x07);
  strictEqual(MigCommand.SWITCHOVER_START, 11);
  strictEqual(SectionType.SUBSECTION, 0x05);
  strictEqual(SectionType.VMDESCRIPTION, 0x06);
});

Deno.test("RAM record flags match QEMU's ram.c RAM_SAVE_FLAG_* values", () => {
  strictEqual(RamFlag.ZERO, 0x02);
  strictEqual(RamFlag.MEM_SIZE, 0x04);
  strictEqual(RamFlag.PAGE, 0x08);
  strictEqual(RamFlag.EOS, 0x10);
  strictEqual(RamFlag.CONTINUE, 0x20);
  strictEqual(RamFlag.HOOK, 0x80);
});

Deno.test("sectionTypeName() names known bytes and shows others in hex", () => {
  strictEqual(sectionTypeName(0x04), "FULL");
  strictEqual(sectionTypeName(0x7e), "FOOTER");
  strictEqual(sectionTypeName(0x09), "0x09");
});
