/** The field builders produce the flag combinations of QEMU's VMSTATE_* macros. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import * as F from "../../../migration/vmstate/fields.ts";
import { flagNames, VMS } from "../../../migration/vmstate/flags.ts";
import * as I from "../../../migration/vmstate/infos.ts";

const el = F.vmsd({ name: "el", fields: [F.uint8("x")] });

Deno.test("field builders set the flags of the matching QEMU macros", () => {
  const cases: [string, number, number][] = [
    ["VMSTATE_UINT8", F.uint8("a").flags, VMS.SINGLE],
    ["VMSTATE_UINT16_ARRAY", F.array("a", I.vmstateUint16, 2).flags, VMS.ARRAY],
    [
      "VMSTATE_VARRAY_INT32",
      F.varray("a", I.vmstateUint8, "n", { countType: "int32" }).flags,
      VMS.VARRAY_INT32,
    ],
    [
      "VMSTATE_VARRAY_UINT32_ALLOC",
      F.varray("a", I.vmstateUint8, "n", { alloc: true }).flags,
      VMS.VARRAY_UINT32 | VMS.POINTER | VMS.ALLOC,
    ],
    [
      "VMSTATE_VARRAY_MULTIPLY",
      F.varray("a", I.vmstateUint8, "n", { countType: "uint32", multiply: 2 }).flags,
      VMS.VARRAY_UINT32 | VMS.MULTIPLY_ELEMENTS,
    ],
    ["VMSTATE_STRUCT", F.struct("s", el).flags, VMS.STRUCT],
    ["VMSTATE_VSTRUCT", F.vstruct("s", el, 1).flags, VMS.VSTRUCT],
    ["VMSTATE_STRUCT_ARRAY", F.structArray("s", el, 2).flags, VMS.STRUCT | VMS.ARRAY],
    [
      "VMSTATE_STRUCT_VARRAY_UINT8",
      F.structVarray("s", el, "n", { countType: "uint8" }).flags,
      VMS.STRUCT | VMS.VARRAY_UINT8,
    ],
    [
      "VMSTATE_ARRAY_OF_POINTER_TO_STRUCT",
      F.pointerArray("p", el, { num: 2 }).flags,
      VMS.STRUCT | VMS.ARRAY | VMS.ARRAY_OF_POINTER,
    ],
    [
      "VMSTATE_VARRAY_OF_POINTER_TO_STRUCT_UINT8_ALLOC",
      F.pointerArray("p", el, { countKey: "n", countType: "uint8", autoAlloc: true }).flags,
      VMS.STRUCT | VMS.POINTER | VMS.VARRAY_UINT8 | VMS.ARRAY_OF_POINTER |
      VMS.ARRAY_OF_POINTER_AUTO_ALLOC,
    ],
    ["VMSTATE_BUFFER", F.buffer("b", 4).flags, VMS.BUFFER],
    [
      "VMSTATE_VBUFFER_ALLOC",
      F.vbuffer("b", "n", { alloc: true }).flags,
      VMS.VBUFFER | VMS.POINTER | VMS.ALLOC,
    ],
    [
      "VMSTATE_VBUFFER_MULTIPLY",
      F.vbuffer("b", "n", { multiply: 4 }).flags,
      VMS.VBUFFER | VMS.POINTER | VMS.MULTIPLY,
    ],
    ["VMSTATE_BITMAP", F.bitmap("m", "n").flags, VMS.VBUFFER | VMS.POINTER],
    ["VMSTATE_UNUSED", F.unused(4).flags, 0],
    ["VMSTATE_VALIDATE", F.validate("v", () => true).flags, VMS.MUST_EXIST | VMS.ARRAY],
  ];
  for (const [name, got, want] of cases) {
    strictEqual(got, want, `${name}: ${flagNames(got)} != ${flagNames(want)}`);
  }
});

Deno.test("field builders fill sizes, counts and nested descriptions like the macros", () => {
  const buf = F.buffer("b", 10, { start: 4 });
  deepStrictEqual([buf.size, buf.start], [6, 4]);
  strictEqual(F.unused(3).name, "unused");
  strictEqual(F.withTmp(el).name, "tmp");
  strictEqual(F.validate("v", () => true).num, 0);
  strictEqual(F.qtailq("q", F.vmsd({ name: "q", versionId: 3, fields: [] })).versionId, 3);
  const keyed = F.gtree("t", el, { keyVmsd: el });
  deepStrictEqual([keyed.start, keyed.keyVmsd === el], [1, true]);
  strictEqual(F.gtree("t", el).start, undefined);
  strictEqual(F.uint32("x", { version: 4 }).versionId, 4);
});

Deno.test("vmsd() defaults the versions to 1 and minimum_version_id to version_id", () => {
  const d = F.vmsd({ name: "d", fields: [] });
  deepStrictEqual([d.versionId, d.minimumVersionId], [1, 1]);
  const d3 = F.vmsd({ name: "d3", versionId: 3, fields: [] });
  deepStrictEqual([d3.versionId, d3.minimumVersionId], [3, 3]);
  const d0 = F.vmsd({ name: "d0", versionId: 0, fields: [] });
  deepStrictEqual([d0.versionId, d0.minimumVersionId], [0, 0]);
});

Deno.test("flagNames() lists the set flags with QEMU's names", () => {
  deepStrictEqual(flagNames(VMS.POINTER | VMS.ALLOC), ["VMS_POINTER", "VMS_ALLOC"]);
  deepStrictEqual(flagNames(0), []);
});
