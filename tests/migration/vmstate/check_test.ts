/**
 * Registration checks: a description that could not work is rejected when it is built, with a
 * VmStateDefinitionError naming the description and the field.
 */
import { strictEqual, throws } from "node:assert/strict";
import { VmStateDefinitionError } from "../../../migration/errors.ts";
import { checkDescription } from "../../../migration/vmstate/check.ts";
import type { VmStateDescription, VmStateField } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { VMS } from "../../../migration/vmstate/flags.ts";
import * as I from "../../../migration/vmstate/infos.ts";

const leaf = F.vmsd({ name: "leaf", fields: [F.uint8("x")] });

/** A fresh (never checked) description around `fields`. */
function desc(fields: VmStateField[], extra: Partial<VmStateDescription> = {}): VmStateDescription {
  return { name: "dev", versionId: 1, minimumVersionId: 1, fields, ...extra };
}

function rejects(
  d: VmStateDescription,
  field: string | undefined,
  reason: RegExp,
  description = d.name,
): void {
  throws(
    () => checkDescription(d),
    (e: unknown) => {
      strictEqual(e instanceof VmStateDefinitionError, true, String(e));
      const err = e as VmStateDefinitionError;
      strictEqual(err.description, description);
      strictEqual(err.field, field);
      strictEqual(reason.test(err.message), true, err.message);
      return true;
    },
  );
}

const u8 = (name: string, extra: Partial<VmStateField> = {}): VmStateField => ({
  ...F.uint8(name),
  ...extra,
});

Deno.test("checkDescription() rejects a field with both STRUCT and an info, or neither", () => {
  rejects(
    desc([u8("a", { flags: VMS.STRUCT, vmsd: leaf })]),
    "a",
    /exactly one of STRUCT, VSTRUCT/,
  );
  rejects(desc([{ name: "a", flags: 0 }]), "a", /exactly one/);
  rejects(
    desc([{ name: "a", flags: VMS.STRUCT | VMS.VSTRUCT, vmsd: leaf, structVersionId: 1 }]),
    "a",
    /exactly one/,
  );
});

Deno.test("checkDescription() rejects STRUCT without a description and VSTRUCT without a version", () => {
  rejects(desc([{ name: "s", flags: VMS.STRUCT }]), "s", /without a nested description/);
  rejects(
    desc([{ name: "s", flags: VMS.VSTRUCT, vmsd: leaf }]),
    "s",
    /VSTRUCT without struct_version_id/,
  );
});

Deno.test("checkDescription() rejects two VARRAY widths and ARRAY with VARRAY", () => {
  const n = u8("n");
  rejects(
    desc([n, u8("v", { flags: VMS.VARRAY_UINT8 | VMS.VARRAY_UINT16, countKey: "n" })]),
    "v",
    /more than one VARRAY count width/,
  );
  rejects(
    desc([n, u8("v", { flags: VMS.VARRAY_UINT8 | VMS.ARRAY, countKey: "n", num: 2 })]),
    "v",
    /ARRAY and VARRAY/,
  );
});

Deno.test("checkDescription() rejects a VARRAY without a count field", () => {
  rejects(desc([u8("v", { flags: VMS.VARRAY_UINT32 })]), "v", /VARRAY without a count field/);
});

Deno.test("checkDescription() rejects a count field declared after its array", () => {
  rejects(
    desc([F.varray("v", I.vmstateUint8, "n", { countType: "uint8" }), u8("n")]),
    "v",
    /count field "n" is not an earlier field/,
  );
});

Deno.test("checkDescription() accepts a configuration count and a parent's count in a subsection", () => {
  checkDescription(desc([F.varray("v", I.vmstateUint8, "cfg", { countIsConfig: true })]));
  checkDescription(desc([u8("n")], {
    subsections: [
      desc([F.varray("v", I.vmstateUint8, "n", { countType: "uint8" })], { name: "dev/s" }),
    ],
  }));
});

Deno.test("checkDescription() rejects ARRAY without a positive count, unless it is a validate()", () => {
  rejects(
    desc([F.array("a", I.vmstateUint8, 0)]),
    "a",
    /ARRAY needs a positive element count, got 0/,
  );
  checkDescription(desc([F.validate("check", () => true)]));
});

Deno.test("checkDescription() rejects MULTIPLY_ELEMENTS without VARRAY or factor", () => {
  rejects(
    desc([F.array("a", I.vmstateUint8, 2, { flags: VMS.MULTIPLY_ELEMENTS })]),
    "a",
    /MULTIPLY_ELEMENTS needs VARRAY/,
  );
});

Deno.test("checkDescription() rejects VBUFFER without a size field, or with a later one", () => {
  rejects(
    desc([u8("b", { flags: VMS.VBUFFER, info: I.vmstateBuffer })]),
    "b",
    /VBUFFER without a size field/,
  );
  rejects(
    desc([F.vbuffer("b", "len"), F.int32("len")]),
    "b",
    /size field "len" is not an earlier field/,
  );
});

Deno.test("checkDescription() rejects MULTIPLY without VBUFFER", () => {
  rejects(
    desc([F.buffer("b", 4, { flags: VMS.MULTIPLY })]),
    "b",
    /MULTIPLY is only valid with VBUFFER/,
  );
});

Deno.test("checkDescription() rejects ALLOC without POINTER", () => {
  rejects(
    desc([u8("n"), u8("v", { flags: VMS.VARRAY_UINT8 | VMS.ALLOC, countKey: "n" })]),
    "v",
    /ALLOC without POINTER/,
  );
});

Deno.test("checkDescription() rejects ARRAY_OF_POINTER without a count and with ALLOC", () => {
  rejects(
    desc([{ name: "p", flags: VMS.STRUCT | VMS.ARRAY_OF_POINTER, vmsd: leaf }]),
    "p",
    /needs ARRAY or VARRAY/,
  );
  // ALLOC | ARRAY_OF_POINTER is supported (the Rosas RFC); with AUTO_ALLOC as well it is not.
  checkDescription(desc([{
    ...F.pointerArray("p", leaf, { num: 2 }),
    flags: VMS.STRUCT | VMS.ARRAY | VMS.ARRAY_OF_POINTER | VMS.POINTER | VMS.ALLOC,
  }]));
  rejects(
    desc([{
      ...F.pointerArray("p", leaf, { num: 2 }),
      flags: VMS.STRUCT | VMS.ARRAY | VMS.ARRAY_OF_POINTER | VMS.POINTER | VMS.ALLOC |
        VMS.ARRAY_OF_POINTER_AUTO_ALLOC,
    }]),
    "p",
    /two spellings of one protocol/,
  );
  rejects(
    desc([{
      ...F.structArray("p", leaf, 2),
      flags: VMS.STRUCT | VMS.ARRAY | VMS.ARRAY_OF_POINTER_AUTO_ALLOC,
    }]),
    "p",
    /AUTO_ALLOC needs ARRAY_OF_POINTER/,
  );
});

Deno.test("checkDescription() rejects fields that can never exist at the description's version", () => {
  rejects(
    desc([u8("a", { versionId: 2, flags: VMS.MUST_EXIST })]),
    "a",
    /MUST_EXIST field can never exist/,
  );
  rejects(
    desc([u8("a", { versionId: 3 })]),
    "a",
    /field version 3 is above the description's version 1/,
  );
  checkDescription(desc([u8("a", { versionId: 3, exists: () => true })]));
});

Deno.test("checkDescription() rejects tmp, qtailq, qlist and gtree without a nested description", () => {
  for (const info of [I.vmstateTmp, I.vmstateQtailq, I.vmstateQlist, I.vmstateGtree]) {
    rejects(
      desc([{ name: "x", flags: 0, info }]),
      "x",
      new RegExp(`${info.name} needs a nested description`),
    );
  }
});

Deno.test("checkDescription() rejects duplicate field names", () => {
  rejects(desc([u8("a"), u8("b"), u8("a")]), "a", /duplicate field name/);
});

Deno.test("checkDescription() accepts repeated unused, tmp and exists-gated names, as QEMU tables have", () => {
  const tmp = F.vmsd({ name: "t", versionId: 0, fields: [] });
  checkDescription(desc([F.unused(1), F.unused(2), F.withTmp(tmp), F.withTmp(tmp)]));
  // fw_cfg: VMSTATE_HACK_UINT32(cur_offset, is_version_1) then VMSTATE_UINT32_V(cur_offset, 2).
  checkDescription(
    desc([
      F.uint32("cur_offset", { exists: (_o, v) => v === 1 }),
      F.uint32("cur_offset", { version: 2 }),
    ], {
      versionId: 2,
    }),
  );
});

Deno.test("checkDescription() rejects a subsection whose name does not start with the parent's", () => {
  rejects(
    desc([u8("a")], { subsections: [desc([u8("b")], { name: "other/b" })] }),
    undefined,
    /subsection "other\/b" does not start with the parent's name "dev"/,
  );
});

Deno.test("checkDescription() requires the parent/ separator unless the name is marked legacy", () => {
  rejects(
    desc([u8("a")], { subsections: [desc([u8("b")], { name: "dev-full" })] }),
    undefined,
    /must be named "dev\/<name>"/,
  );
  checkDescription(
    desc([u8("a")], { subsections: [desc([u8("b")], { name: "dev-full", legacyName: true })] }),
  );
  checkDescription(desc([u8("a")], { subsections: [desc([u8("b")], { name: "dev.x" })] }), {
    legacySubsectionNames: true,
  });
});

Deno.test("checkDescription() rejects a subsection listed twice", () => {
  const s = desc([u8("b")], { name: "dev/s" });
  rejects(desc([u8("a")], { subsections: [s, s] }), undefined, /duplicate subsection "dev\/s"/);
});

Deno.test("checkDescription() rejects bad names and version ranges", () => {
  rejects(desc([], { name: "" }), undefined, /has no name/);
  rejects(desc([], { name: "x".repeat(256) }), undefined, /longer than 255 bytes/);
  rejects(
    desc([], { versionId: -1, minimumVersionId: -1 }),
    undefined,
    /version_id -1 is not a non-negative integer/,
  );
  rejects(
    desc([], { versionId: 1, minimumVersionId: 2 }),
    undefined,
    /minimum_version_id 2 is above version_id 1/,
  );
  rejects(desc([{ ...F.uint8("x"), name: "" }]), undefined, /a field has no name/);
});

Deno.test("checkDescription() names the nested description when a struct's table is wrong", () => {
  const bad = desc([u8("n", { versionId: 5 })], { name: "inner" });
  rejects(desc([F.struct("s", bad)]), "n", /field version 5/, "inner");
});

Deno.test("vmsd() checks the table when it is built", () => {
  throws(() => F.vmsd({ name: "x", fields: [F.uint8("a"), F.uint8("a")] }), VmStateDefinitionError);
});
