import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  MigrationError,
  UnknownEntityError,
  VersionMismatchError,
} from "../../../migration/errors.ts";
import { loadTaggedState } from "../../../migration/extensions/tagged_load.ts";
import { TaggedSaver } from "../../../migration/extensions/tagged_save.ts";
import { LayoutMismatchError } from "../../../migration/extensions/vmsd_markers.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";
import { caught, caughtAsync } from "../_helpers.ts";
import { loadStreamOf, loadWith, registryOf, saveWith, streamOf } from "./_walk.ts";

function tagged(vmsd: VmStateDescription, state: StateRecord): Uint8Array {
  const w = new StreamWriter();
  new TaggedSaver(w).save(vmsd, state);
  return w.take();
}

function loadTagged(
  vmsd: VmStateDescription,
  bytes: Uint8Array,
  into: StateRecord,
  opts: { skipUnknownSubsections?: boolean } = {},
): { state: StateRecord; notes: string[] } {
  const notes: string[] = [];
  const r = StreamReader.fromBytes(bytes);
  loadTaggedState(r, vmsd, into, { ...opts, onNote: (n) => notes.push(n) });
  strictEqual(r.offset, bytes.length);
  return { state: into, notes };
}

const el = F.vmsd({ name: "el", fields: [F.uint16("x")] });
const rich = F.vmsd({
  name: "rich",
  versionId: 2,
  minimumVersionId: 1,
  fields: [
    F.uint8("a"),
    F.array("regs", I.vmstateUint32, 3),
    F.uint32("n"),
    F.varray("v", I.vmstateUint8, "n"),
    F.int32("len"),
    F.vbuffer("buf", "len"),
    F.uint64("big", { version: 2 }),
    F.struct("s", el),
    F.pointerArray("q", el, { num: 3, autoAlloc: true }),
    F.bool("flag"),
    F.timer("t"),
  ],
  subsections: [
    F.vmsd({ name: "rich/sub", needed: (s) => s.extra > 0, fields: [F.int16("extra")] }),
  ],
});
const richState = () => ({
  a: 1,
  regs: [1, 2, 3],
  n: 2,
  v: [7, 8],
  len: 3,
  buf: new Uint8Array([9, 9, 9]),
  big: 1n << 40n,
  s: { x: 0x1234 },
  q: [null, { x: 5 }, null],
  flag: true,
  t: -1n,
  extra: 3,
});
const blank = () => ({
  a: 0,
  regs: [0, 0, 0],
  n: 0,
  v: [0, 0],
  len: 0,
  buf: new Uint8Array(0),
  big: 0n,
  s: { x: 0 },
  q: [{ x: 1 }, null, { x: 1 }],
  flag: false,
  t: 0n,
  extra: 0,
});

Deno.test("a tagged record loads back into the same state, every field kind included", () => {
  const { state, notes } = loadTagged(rich, tagged(rich, richState()), blank());
  deepStrictEqual(state, richState());
  deepStrictEqual(notes, []);
});

Deno.test("a newer source with an added field loads: the field is skipped and said so", () => {
  const v3 = F.vmsd({
    ...rich,
    versionId: 3,
    fields: [...rich.fields, F.uint8("added", { version: 3 })],
  });
  const { state, notes } = loadTagged(rich, tagged(v3, { ...richState(), added: 4 }), blank());
  deepStrictEqual(state, richState());
  deepStrictEqual(notes, [
    "rich v3 loaded as v2, as far as this side knows it",
    'rich v3: skipped field "added" (1 bytes): this side lacks it',
  ]);
});

Deno.test("a field missing from the stream keeps this side's value and is said so", () => {
  const older = F.vmsd({ name: "d", fields: [F.uint8("a")] });
  const newer = F.vmsd({ name: "d", fields: [F.uint8("a"), F.uint8("b")] });
  const { state, notes } = loadTagged(newer, tagged(older, { a: 3 }), { a: 0, b: 42 });
  deepStrictEqual(state, { a: 3, b: 42 });
  deepStrictEqual(notes, ['d v1: field "b" is not in the stream: kept this side\'s value']);
});

Deno.test("an exists() test that differs between the sides misreads QEMU's encoding, not the tagged one", () => {
  // `wide` is configuration of each side, not part of the stream (a compat property).
  const d = F.vmsd({
    name: "nic",
    fields: [
      F.uint8("mode"),
      F.uint32("ext", { exists: (s) => s.wide }),
      F.uint16("mtu"),
      F.uint16("crc"),
    ],
  });
  const src = { wide: false, mode: 1, ext: 0, mtu: 1500, crc: 0xbeef };
  const dest = () => ({ wide: true, mode: 0, ext: 7, mtu: 0, crc: 0 });
  const qemu = caught(() => loadWith(d, saveWith(d, src), dest()));
  ok(qemu.message.includes("Stream ends early"), qemu.message);
  const { state } = loadTagged(d, tagged(d, src), dest());
  deepStrictEqual(state, { wide: true, mode: 1, ext: 7, mtu: 1500, crc: 0xbeef });
  // When more bytes follow (in a real stream they do), QEMU's loader "succeeds" with garbage.
  const padded = new Uint8Array([...saveWith(d, src), 0, 0, 0, 0]);
  const wrong = loadWith(d, padded, dest());
  deepStrictEqual([wrong.ext, wrong.mtu], [0x05dcbeef, 0]);
  notDeepStrictEqual(wrong.mtu, 1500);
});

Deno.test("a resized, re-kinded or re-counted field is a layout error naming it", () => {
  const narrow = F.vmsd({ name: "mt", fields: [F.uint32("timecmp")] });
  const wide = F.vmsd({ name: "mt", fields: [F.uint64("timecmp")] });
  const e = caught(() => loadTagged(wide, tagged(narrow, { timecmp: 5 }), { timecmp: 0n }));
  strictEqual(e instanceof LayoutMismatchError, true);
  strictEqual(
    (e as MigrationError).reason,
    'mt v1: field "timecmp" is 8 bytes per element here, the stream has 4',
  );
  strictEqual((e as MigrationError).path, "mt.timecmp");
  const asStruct = F.vmsd({ name: "mt", fields: [F.struct("timecmp", el)] });
  throws(
    () => loadTagged(asStruct, tagged(narrow, { timecmp: 5 }), { timecmp: { x: 0 } }),
    /is struct here but unsigned in the stream/,
  );
  const three = F.vmsd({ name: "a", fields: [F.array("r", I.vmstateUint8, 3)] });
  const four = F.vmsd({ name: "a", fields: [F.array("r", I.vmstateUint8, 4)] });
  throws(
    () => loadTagged(four, tagged(three, { r: [1, 2, 3] }), { r: [0, 0, 0, 0] }),
    /has 4 elements here, the stream has 3/,
  );
});

Deno.test("versions below the minimum and another description name are refused", () => {
  const v1 = F.vmsd({ name: "d", versionId: 1, fields: [F.uint8("a")] });
  const v3 = F.vmsd({ name: "d", versionId: 3, minimumVersionId: 2, fields: [F.uint8("a")] });
  throws(() => loadTagged(v3, tagged(v1, { a: 1 }), { a: 0 }), VersionMismatchError);
  const other = F.vmsd({ name: "e", fields: [F.uint8("a")] });
  throws(
    () => loadTagged(other, tagged(v1, { a: 1 }), { a: 0 }),
    /The stream has description "d" where this side has "e"/,
  );
});

Deno.test("an unknown subsection fails as in QEMU unless skipping is allowed", () => {
  const withSub = F.vmsd({
    name: "d",
    fields: [F.uint8("a")],
    subsections: [F.vmsd({ name: "d/down", fields: [F.uint8("z")] })],
  });
  const without = F.vmsd({ name: "d", fields: [F.uint8("a")] });
  const bytes = tagged(withSub, { a: 1, z: 2 });
  throws(() => loadTagged(without, bytes, { a: 0 }), UnknownEntityError);
  const { state, notes } = loadTagged(without, bytes, { a: 0 }, { skipUnknownSubsections: true });
  deepStrictEqual(state, { a: 1 });
  ok(notes[0].startsWith("skipped subsection 'd/down' v1 of 'd'"), notes[0]);
});

Deno.test("pointer slots follow the field's variant: plain ones must agree, allocating ones adopt", () => {
  const plain = F.vmsd({ name: "t", fields: [F.pointerArray("q", el, { num: 2 })] });
  const e = caught(() =>
    loadTagged(plain, tagged(plain, { q: [{ x: 1 }, null] }), { q: [null, null] })
  );
  strictEqual(e instanceof UnknownEntityError, true);
  strictEqual((e as MigrationError).path, "t.q[0]");
  const auto = F.vmsd({ name: "t", fields: [F.pointerArray("q", el, { num: 2, alloc: true })] });
  deepStrictEqual(
    loadTagged(auto, tagged(auto, { q: [{ x: 1 }, null] }), { q: [null, { x: 9 }] }).state,
    { q: [{ x: 1 }, null] },
  );
});

Deno.test("x-self-describing end to end: no vmdesc trailer, and a newer section version loads", async () => {
  const v1 = F.vmsd({ name: "d", versionId: 1, fields: [F.uint8("a")] });
  const v2 = F.vmsd({
    name: "d",
    versionId: 2,
    fields: [F.uint8("a"), F.uint8("b", { version: 2 })],
  });
  const bytes = await streamOf(registryOf({ vmsd: v2, state: { a: 7, b: 8 } }), {
    capabilities: ["x-self-describing"],
  });
  strictEqual(bytes[bytes.length - 1], 0x00, "EOF is the last byte: no vmdesc");
  const state = { a: 0 };
  const report = await loadStreamOf(bytes, registryOf({ vmsd: v1, state }));
  strictEqual(state.a, 7);
  deepStrictEqual(report.notes, [
    "d: d v2 loaded as v1, as far as this side knows it",
    'd: d v2: skipped field "b" (1 bytes): this side lacks it',
  ]);
  const plain = await streamOf(registryOf({ vmsd: v2, state: { a: 7, b: 8 } }));
  const e = await caughtAsync(loadStreamOf(plain, registryOf({ vmsd: v1, state: { a: 0 } })));
  strictEqual(e instanceof VersionMismatchError, true);
});

Deno.test("a damaged tagged or bracketed stream fails with a MigrationError or loads, nothing else", async () => {
  for (const caps of [["x-self-describing"], ["x-vmsd-markers", "x-ptr-markers"]]) {
    const good = await streamOf(registryOf({ vmsd: rich, state: richState() }), {
      capabilities: caps,
      sendVmdesc: false,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        async (at, v) => {
          const bad = good.slice();
          bad[at] = v;
          try {
            await loadStreamOf(bad, registryOf({ vmsd: rich, state: blank() }));
          } catch (e) {
            ok(e instanceof MigrationError, `${caps}: byte ${at} = ${v}: ${e}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  }
});

Deno.test("an allocated table's count passes boundCount: past the field's maximum it is refused", () => {
  const t = F.vmsd({
    name: "t",
    fields: [F.uint32("n"), F.varray("a", I.vmstateUint8, "n", { alloc: true, max: 2 })],
  });
  const ok2 = tagged(t, { n: 2, a: new Uint8Array([1, 2]) });
  deepStrictEqual(loadTagged(t, ok2, { n: 0, a: new Uint8Array(0) }).state, {
    n: 2,
    a: new Uint8Array([1, 2]),
  });
  const e = caught(() =>
    loadTagged(t, tagged(t, { n: 3, a: new Uint8Array([1, 2, 3]) }), { n: 0, a: new Uint8Array(0) })
  );
  ok(e instanceof MigrationError && /exceeds the maximum of 2/.test(e.message), String(e));
});
