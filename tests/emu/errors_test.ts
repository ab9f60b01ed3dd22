import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { BusError, ElfError, EmuError } from "../../emu/errors.ts";

Deno.test("error classes carry their name, reason and address", () => {
  const e = new ElfError("not-elf", "Not an ELF file");
  assert(e instanceof EmuError && e instanceof Error);
  assertEquals([e.name, e.reason], ["ElfError", "not-elf"]);
  const b = new BusError(0x1000_0000, true);
  assertEquals(b.message, "No device at address 0x10000000 for store");
});
