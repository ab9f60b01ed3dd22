/**
 * The compiled form: each field kind decided once from QEMU's flags, with its rules as closures,
 * and each kind through both encodings (QEMU's and the self-describing one), which share one walk.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { SaveError, StateValidationError } from "../../../migration/errors.ts";
import { loadTaggedState } from "../../../migration/extensions/tagged_load.ts";
import { TaggedSaver } from "../../../migration/extensions/tagged_save.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { compile, compiledField, pointerVariant } from "../../../migration/vmstate/compile.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { VMS } from "../../../migration/vmstate/flags.ts";
import * as I from "../../../migration/vmstate/infos.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { saveState } from "../../../migration/vmstate/save.ts";

const inner = F.vmsd({ name: "e", fields: [F.uint16("v")] });

/** Every kind, with a record that exercises it. */
const kinds: [string, ReturnType<typeof F.uint8>, StateRecord][] = [
  ["scalar", F.uint32("s"), { s: 0xdeadbeef }],
  ["buffer", F.buffer("b", 4), { b: new Uint8Array([1, 2, 3, 4]) }],
  ["buffer", F.vbuffer("vb", "len"), { len: 3, vb: new Uint8Array([9, 8, 7]) }],
  ["array", F.array("a", I.vmstateUint8, 3), { a: [1, 2, 3] }],
  ["array", F.varray("va", I.vmstateUint16, "n"), { n: 2, va: [0x1234, 0x5678] }],
  ["array", F.structArray("sa", inner, 2), { sa: [{ v: 1 }, { v: 2 }] }],
  ["struct", F.struct("st", inner), { st: { v: 0x4242 } }],
  ["pointer-array", F.pointerArray("p", inner, { num: 3, autoAlloc: true }), {
    p: [null, { v: 5 }, null],
  }],
  ["unused", F.unused(3), {}],
  ["validate", F.validate("ok", () => true), {}],
  ["nested", F.qtailq("q", inner), { q: [{ v: 1 }, { v: 2 }] }],
];

function single(f: ReturnType<typeof F.uint8>): VmStateDescription {
  const counts = f.countKey ? [F.uint32(f.countKey)] : f.sizeKey ? [F.int32(f.sizeKey)] : [];
  return F.vmsd({ name: "d", fields: [...counts, f] });
}

Deno.test("compile() gives each row its kind, decided once from the flags", () => {
  for (const [kind, f] of kinds) {
    const cf = compile(single(f)).fields.at(-1)!;
    strictEqual(cf.kind.kind, kind, f.name);
    strictEqual(cf.element.of, f.vmsd && !f.info ? "struct" : "leaf", f.name);
  }
  strictEqual(compiledField(F.uint8("x")).many, false);
  strictEqual(compiledField(F.array("x", I.vmstateUint8, 2)).many, true);
});

Deno.test("each kind saves and loads back to the same state in both encodings", () => {
  for (const [kind, f, state] of kinds) {
    const d = single(f);
    const w = new StreamWriter();
    saveState(w, d, state);
    const back = structuredClone(state);
    loadState(StreamReader.fromBytes(w.take()), d, back, d.versionId);
    deepStrictEqual(back, state, `${kind} ${f.name} (QEMU encoding)`);
    const t = new StreamWriter();
    new TaggedSaver(t).save(d, state);
    const tagged = structuredClone(state);
    loadTaggedState(StreamReader.fromBytes(t.take()), d, tagged);
    deepStrictEqual(tagged, state, `${kind} ${f.name} (self-describing)`);
  }
});

Deno.test("the field-exists rule is one closure: version gate, or the test alone", () => {
  const gated = compiledField(F.uint8("a", { version: 3 }));
  strictEqual(gated.exists({}, 2), false);
  strictEqual(gated.exists({}, 3), true);
  const tested = compiledField(F.uint8("a", { version: 3, exists: (o) => o.on === true }));
  strictEqual(tested.exists({ on: true }, 1), true, "a test overrides the version");
  strictEqual(tested.exists({ on: false }, 9), false);
  strictEqual(compiledField(F.uint8("a")).exists({}, 0), true);
});

Deno.test("counts and sizes are validated closures; save and load fail with their own class", () => {
  const cf = compiledField(F.varray("v", I.vmstateUint8, "n", { countType: "uint8" }));
  strictEqual(cf.count({ n: 7 }, false), 7);
  throws(() => cf.count({ n: 256 }, false), StateValidationError);
  throws(() => cf.count({ n: 256 }, true), SaveError);
  const vb = compiledField(F.vbuffer("b", "len", { multiply: 4 }));
  strictEqual(vb.size({ len: 3 }, false), 12);
  throws(() => vb.size({ len: -1 }, false), StateValidationError);
});

Deno.test("the pointer-array variant and allocation are decided from the flags", () => {
  strictEqual(pointerVariant(VMS.ARRAY_OF_POINTER), "nullptr");
  strictEqual(pointerVariant(VMS.ARRAY_OF_POINTER | VMS.ARRAY_OF_POINTER_AUTO_ALLOC), "auto-alloc");
  strictEqual(pointerVariant(VMS.ARRAY_OF_POINTER | VMS.ALLOC), "alloc");
  strictEqual(pointerVariant(VMS.ARRAY), undefined);
  const alloc = compiledField(F.pointerArray("p", inner, { countKey: "n", alloc: true }));
  strictEqual(alloc.variant, "alloc");
  strictEqual(alloc.allocates, true);
  strictEqual(compiledField(F.varray("v", I.vmstateUint8, "n", { alloc: true })).allocates, true);
});

Deno.test("vmdesc names repeat with [k]; rows that carry nothing are not transmitted", () => {
  const d = F.vmsd({ name: "d", fields: [F.unused(2), F.uint8("a"), F.unused(1)] });
  deepStrictEqual(compile(d).fields.map((f) => f.jsonName), ["unused[0]", "a", "unused[1]"]);
  deepStrictEqual(compile(d).fields.map((f) => f.transmitted), [false, true, false]);
  ok(compile(d).byJsonName.get("a"));
  strictEqual(compile(d), compile(d), "compiled once and cached");
});

Deno.test("an accessor row converts on save and load, and may reject a value", () => {
  const f = F.withAccess(F.uint64("env.mstatus"), {
    get: (o) => BigInt(o.mstatus),
    set: (o, v) => {
      if ((v as bigint) > 0xffffffffn) throw new StateValidationError("bits above 31");
      o.mstatus = Number(v);
    },
  });
  const d = F.vmsd({ name: "cpu", fields: [f] });
  const w = new StreamWriter();
  saveState(w, d, { mstatus: 0x1888 });
  const bytes = w.take();
  deepStrictEqual([...bytes], [0, 0, 0, 0, 0, 0, 0x18, 0x88]);
  const back: StateRecord = { mstatus: 0 };
  loadState(StreamReader.fromBytes(bytes), d, back, 1);
  deepStrictEqual(back, { mstatus: 0x1888 });
  const bad = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0]);
  throws(() => loadState(StreamReader.fromBytes(bad), d, { mstatus: 0 }, 1), /cpu\.env\.mstatus/);
});
