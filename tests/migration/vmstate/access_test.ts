/** Reaching fields in plain records: property paths, counts, sizes and zeroed records. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { SaveError, StateValidationError } from "../../../migration/errors.ts";
import {
  createRecord,
  elementCount,
  elementSize,
  getField,
  isArrayField,
  setField,
} from "../../../migration/vmstate/access.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";

Deno.test("getField() and setField() follow dotted keys, creating objects on write", () => {
  const f = F.uint8("lsr", { key: "regs.lsr" });
  const rec: Record<string, unknown> = {};
  strictEqual(getField(rec, f), undefined);
  setField(rec, f, 5);
  deepStrictEqual(rec, { regs: { lsr: 5 } });
  strictEqual(getField(rec, f), 5);
});

Deno.test("elementCount() reads VARRAY counts, applies MULTIPLY_ELEMENTS and checks the width", () => {
  const v = F.varray("v", I.vmstateUint8, "n", { countType: "uint16", multiply: 3 });
  strictEqual(elementCount({ n: 2 }, v, false), 6);
  strictEqual(elementCount({ n: 2n }, v, false), 6);
  strictEqual(elementCount({}, F.array("a", I.vmstateUint8, 4), false), 4);
  strictEqual(elementCount({}, F.uint8("s"), false), 1);
  throws(() => elementCount({ n: 0x10000 }, v, false), StateValidationError);
  throws(() => elementCount({ n: "2" }, v, true), SaveError);
  const i32 = F.varray("v", I.vmstateUint8, "n", { countType: "int32" });
  throws(() => elementCount({ n: -1 }, i32, false), /negative \(-1\)/);
  strictEqual(
    elementCount({ n: 0xffffffff }, F.varray("v", I.vmstateUint8, "n"), false),
    0xffffffff,
  );
});

Deno.test("elementSize() reads the int32 VBUFFER size and multiplies it", () => {
  strictEqual(elementSize({ len: 3 }, F.vbuffer("b", "len", { multiply: 4 }), false), 12);
  strictEqual(elementSize({}, F.buffer("b", 8, { start: 2 }), false), 6);
  throws(() => elementSize({ len: -1 }, F.vbuffer("b", "len"), false), StateValidationError);
  throws(() => elementSize({ len: 2 ** 31 }, F.vbuffer("b", "len"), true), SaveError);
});

Deno.test("isArrayField() is true for ARRAY and every VARRAY width only", () => {
  strictEqual(isArrayField(F.array("a", I.vmstateUint8, 2)), true);
  strictEqual(isArrayField(F.varray("a", I.vmstateUint8, "n", { countType: "int32" })), true);
  strictEqual(isArrayField(F.vbuffer("b", "n")), false);
  strictEqual(isArrayField(F.uint8("x")), false);
});

Deno.test("createRecord() builds the zeroed record a description describes", () => {
  const el = F.vmsd({ name: "el", fields: [F.uint16("x")] });
  const d = F.vmsd({
    name: "dev",
    fields: [
      F.bool("b"),
      F.timer("t"),
      F.array("a", I.vmstateUint32, 2),
      F.uint8("n"),
      F.varray("v", I.vmstateUint8, "n", { countType: "uint8" }),
      F.struct("s", el),
      F.structArray("sa", el, 2),
      F.pointerArray("p", el, { num: 2 }),
      F.buffer("buf", 3),
      F.vbuffer("vb", "n"),
      F.unused(4),
      F.validate("ok", () => true),
      F.uint8("deep", { key: "regs.deep" }),
    ],
    subsections: [F.vmsd({ name: "dev/sub", fields: [F.uint64("extra"), F.bool("b")] })],
  });
  deepStrictEqual(createRecord(d), {
    b: false,
    t: -1n,
    a: [0, 0],
    n: 0,
    v: [],
    s: { x: 0 },
    sa: [{ x: 0 }, { x: 0 }],
    p: [null, null],
    buf: new Uint8Array(3),
    vb: new Uint8Array(0),
    regs: { deep: 0 },
    extra: 0n,
  });
  const custom = F.vmsd({ name: "c", fields: [F.uint8("a")], create: () => ({ a: 7 }) });
  deepStrictEqual(createRecord(custom), { a: 7 });
});
