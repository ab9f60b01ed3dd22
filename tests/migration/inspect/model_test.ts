import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { QEMU_VM } from "../../../migration/inspect/model.ts";

Deno.test("model: framing constants are savevm.h's", () => {
  assertEquals(QEMU_VM, {
    FILE_MAGIC: 0x5145564d,
    FILE_VERSION: 3,
    EOF: 0,
    SECTION_START: 1,
    SECTION_PART: 2,
    SECTION_END: 3,
    SECTION_FULL: 4,
    SUBSECTION: 5,
    VMDESCRIPTION: 6,
    CONFIGURATION: 7,
    COMMAND: 8,
    SECTION_FOOTER: 0x7e,
  });
});
