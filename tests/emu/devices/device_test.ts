import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  earliest,
  inRange,
  registerSections,
  type SnapshotDevice,
  subword,
} from "../../../emu/devices/device.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import { uint32, vmsd } from "../../../migration/vmstate/fields.ts";

Deno.test("subword() picks the byte or halfword lane of a 32-bit register", () => {
  assertEquals(subword(0x11223344, 0, 4), 0x11223344);
  assertEquals(subword(0x11223344, 1, 1), 0x33);
  assertEquals(subword(0x11223344, 2, 2), 0x1122);
  assertEquals(subword(-1, 0, 4), 0xffffffff);
});

Deno.test("earliest() ignores absent deadlines", () => {
  assertEquals([earliest(null, null), earliest(5n, null), earliest(null, 3n), earliest(5n, 3n)], [
    null,
    5n,
    3n,
    3n,
  ]);
});

Deno.test("inRange() accepts only integers inside the bounds", () => {
  assertEquals([inRange(3, 0, 3), inRange(4, 0, 3), inRange(1.5, 0, 3), inRange("1", 0, 3)], [
    true,
    false,
    false,
    false,
  ]);
});

Deno.test("registerSections() registers every section of a device with its instance id", () => {
  const d = vmsd({ name: "dev-a", fields: [uint32("x")] });
  const e = vmsd({ name: "dev-b", fields: [uint32("y")] });
  const dev: SnapshotDevice = {
    sections: () => [{ vmsd: d, state: () => ({ x: 1 }) }, { vmsd: e, state: () => ({ y: 2 }) }],
  };
  const reg = new SectionRegistry();
  registerSections(reg, dev, 3);
  assertEquals(reg.entries.map((s) => [s.idstr, s.instanceId]), [["dev-a", 3], ["dev-b", 3]]);
});
