/**
 * The load walker: bounds checks on hostile counts and sizes, version ranges, hooks, subsection
 * matching (QEMU's prefix rule, strict mode, duplicates, unknown names), error locations, and
 * property tests that random descriptions round-trip, also when the bytes arrive in chunks.
 */
import { loadWalkOptions } from "../../../migration/extensions/layers.ts";
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  MigrationError,
  StateValidationError,
  StreamTruncatedError,
  UnknownEntityError,
  VersionMismatchError,
  VmStateDefinitionError,
} from "../../../migration/errors.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import type {
  StateRecord,
  VmStateDescription,
  VmStateField,
  VmStateInfo,
} from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { VMS } from "../../../migration/vmstate/flags.ts";
import * as I from "../../../migration/vmstate/infos.ts";
import { displayPath, loadState, VmStateLoader } from "../../../migration/vmstate/load.ts";
import { b, be32, caught, load, save } from "../_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Counts, sizes, allocation

const varrayU8 = F.vmsd({
  name: "fifo",
  fields: [F.uint8("n"), F.varray("data", I.vmstateUint8, "n", { countType: "uint8" })],
});

Deno.test("loadState() rejects a VARRAY count above the array capacity", () => {
  const e = caught(() =>
    load(varrayU8, b(/* n */ 5, [1, 2, 3, 4, 5]), { n: 0, data: [0, 0, 0, 0] })
  );
  strictEqual(e instanceof StateValidationError, true);
  strictEqual(e.message.includes('Count 5 of field "data" exceeds its capacity of 4'), true);
  strictEqual((e as MigrationError).path, "fifo.data");
  strictEqual((e as MigrationError).offset, 1);
});

Deno.test("loadState() rejects a negative VARRAY_INT32 count (CVE-2013-4531 class)", () => {
  const d = F.vmsd({
    name: "cpreg",
    fields: [F.int32("len"), F.varray("regs", I.vmstateUint64, "len", { countType: "int32" })],
  });
  const e = caught(() => load(d, b(0xff, 0xff, 0xff, 0xfe), { len: 0, regs: [] }));
  strictEqual(e instanceof StateValidationError, true);
  strictEqual(e.message.includes("negative (-2)"), true, e.message);
});

Deno.test("loadState() bounds an ALLOC allocation by the bytes left in the stream", () => {
  const d = F.vmsd({
    name: "big",
    fields: [F.uint32("n"), F.varray("v", I.vmstateUint64, "n", { alloc: true })],
  });
  const e = caught(() => load(d, b(be32(0xffffffff), [1, 2, 3]), { n: 0, v: [] }));
  strictEqual(e instanceof StreamTruncatedError, true, String(e));
  const buf = F.vmsd({
    name: "vb",
    fields: [F.int32("len"), F.vbuffer("d", "len", { alloc: true })],
  });
  const e2 = caught(() => load(buf, b(be32(0x7fffffff), 0), { len: 0, d: new Uint8Array(0) }));
  strictEqual(e2 instanceof StreamTruncatedError, true, String(e2));
});

Deno.test("loadState() rejects a negative VBUFFER size", () => {
  const buf = F.vmsd({ name: "vb", fields: [F.int32("len"), F.vbuffer("d", "len")] });
  throws(
    () => load(buf, b(0xff, 0xff, 0xff, 0xff), { len: 0, d: new Uint8Array(4) }),
    StateValidationError,
  );
});

Deno.test("loadState() reports a truncated field as StreamTruncatedError at its offset", () => {
  const d = F.vmsd({ name: "t", fields: [F.uint8("a"), F.uint32("b")] });
  const e = caught(() => loadState(StreamReader.fromBytes(b(1, 0, 0)), d, {}, 1));
  strictEqual(e instanceof StreamTruncatedError, true);
  strictEqual((e as MigrationError).path, "t.b");
  strictEqual((e as MigrationError).offset, 1);
});

// ---------------------------------------------------------------------------------------------
// Versions and hooks

const ranged = F.vmsd({
  name: "ranged",
  versionId: 4,
  minimumVersionId: 2,
  fields: [F.uint8("a")],
});

Deno.test("loadState() rejects versions above version_id and below minimum_version_id", () => {
  const tooNew = caught(() => load(ranged, b(1), {}, 5));
  strictEqual(tooNew instanceof VersionMismatchError, true);
  strictEqual(
    tooNew.message.startsWith("ranged: incoming version_id 5 is too new for local version_id 4"),
    true,
  );
  const tooOld = caught(() => load(ranged, b(1), {}, 1));
  strictEqual(tooOld instanceof VersionMismatchError, true);
  strictEqual(
    tooOld.message.startsWith(
      "ranged: incoming version_id 1 is too old for local minimum version_id 2",
    ),
    true,
  );
  deepStrictEqual(load(ranged, b(7), {}, 2), { a: 7 });
});

Deno.test("loadState() runs pre_load, fields, subsection hooks, then post_load with the version", () => {
  const order: string[] = [];
  const d = F.vmsd<StateRecord>({
    name: "h",
    versionId: 3,
    minimumVersionId: 1,
    preLoad: (o) => void order.push(`pre a=${o.a}`),
    postLoad: (o, v) => void order.push(`post a=${o.a} s=${o.s} v=${v}`),
    fields: [F.uint8("a")],
    subsections: [
      F.vmsd({
        name: "h/s",
        fields: [F.uint8("s")],
        preLoad: () => void order.push("sub pre"),
        postLoad: () => void order.push("sub post"),
      }),
    ],
  });
  load(d, b(1, 0x05, 3, "h/s", be32(1), 2), { a: 0, s: 0 }, 2);
  deepStrictEqual(order, ["pre a=0", "sub pre", "sub post", "post a=1 s=2 v=2"]);
});

Deno.test("loadState() fails with StateValidationError when a hook returns false", () => {
  const pre = F.vmsd({ name: "p", fields: [F.uint8("a")], preLoad: () => false });
  throws(() => load(pre, b(1), {}), /pre load hook failed for: 'p', version_id: 1/);
  const post = F.vmsd({ name: "q", fields: [F.uint8("a")], postLoad: (o) => o.a < 4 });
  deepStrictEqual(load(post, b(3), {}), { a: 3 });
  const e = caught(() => load(post, b(4), {}));
  strictEqual(e instanceof StateValidationError, true);
  strictEqual(e.message.startsWith("post load hook failed for: 'q'"), true);
});

Deno.test("loadState() runs a tmp description at the field's version_id, 0 by default as in QEMU", () => {
  const v1 = F.vmsd({ name: "tmp1", fields: [F.uint8("z")] });
  // A tmp description with minimum_version_id 1 could never load at VMSTATE_WITH_TMP's version
  // 0: that is caught when the parent is built, not at load time.
  throws(() => F.vmsd({ name: "t", fields: [F.withTmp(v1)] }), VmStateDefinitionError);
  const v0 = F.vmsd({
    name: "tmp0",
    versionId: 0,
    fields: [F.uint8("z")],
    postLoad: (t) => void (t.parent.z = t.z),
  });
  const d0 = F.vmsd({ name: "t0", fields: [F.withTmp(v0)] });
  deepStrictEqual(load(d0, b(9), {}), { z: 9 });
});

// ---------------------------------------------------------------------------------------------
// Subsection matching

const parent = F.vmsd({
  name: "dev",
  fields: [F.uint8("a")],
  subsections: [
    F.vmsd({ name: "dev/one", fields: [F.uint8("one")] }),
    F.vmsd({ name: "devx", legacyName: true, fields: [F.uint8("x")] }),
  ],
});

const sub = (name: string, version: number, ...payload: number[]) =>
  b(0x05, name.length, name, be32(version), payload);

Deno.test("loadState() fails on an unknown subsection that passes the prefix test", () => {
  const e = caught(() => load(parent, b(1, sub("dev/two", 1, 2)), {}));
  strictEqual(e instanceof UnknownEntityError, true);
  strictEqual(e.message.startsWith("VM subsection 'dev/two' in 'dev' does not exist"), true);
  strictEqual((e as MigrationError).offset, 1);
  strictEqual((e as MigrationError).path, "dev/two");
});

Deno.test("loadState() leaves a subsection without the parent's prefix for an outer level", () => {
  const bytes = b(1, sub("other/one", 1, 2));
  const r = StreamReader.fromBytes(bytes);
  const rec: StateRecord = {};
  loadState(r, parent, rec, 1);
  deepStrictEqual(rec, { a: 1 });
  strictEqual(r.offset, 1, "the subsection bytes stay in the stream");
});

Deno.test("loadState() stops at a subsection name shorter than the parent's name + 1", () => {
  const r = StreamReader.fromBytes(b(1, 0x05, 3, "dev"));
  loadState(r, parent, {}, 1);
  strictEqual(r.offset, 1);
});

Deno.test("loadState() hands a subsection from an inner struct's position to the outer description", () => {
  const innerVmsd = F.vmsd({ name: "in", fields: [F.uint8("i")] });
  const outer = F.vmsd({
    name: "outer",
    fields: [F.struct("s", innerVmsd)],
    subsections: [F.vmsd({ name: "outer/late", fields: [F.uint8("late")] })],
  });
  deepStrictEqual(load(outer, b(/* s.i */ 4, sub("outer/late", 1, 5)), { s: { i: 0 } }), {
    s: { i: 4 },
    late: 5,
  });
});

Deno.test("loadState() truncates the subsection version to 8 bits, as QEMU's uint8 does", () => {
  deepStrictEqual(load(parent, b(1, sub("dev/one", 0x101, 7)), {}), { a: 1, one: 7 });
  const e = caught(() => load(parent, b(1, sub("dev/one", 0x102, 7)), {}));
  strictEqual(e instanceof VersionMismatchError, true);
  strictEqual((e as VersionMismatchError).received, 2);
});

Deno.test("loadState() applies the plain prefix rule by default and the '/' rule in strict mode", () => {
  deepStrictEqual(load(parent, b(1, sub("devx", 1, 3)), {}), { a: 1, x: 3 });
  // Strict mode still takes a subsection declared with its legacy name (Peter Maydell's rule)...
  const strict = loadWalkOptions({ subsectionMatch: "strict" });
  deepStrictEqual(load(parent, b(1, sub("devx", 1, 3)), {}, 1, strict), { a: 1, x: 3 });
  // ...and leaves any other name without '/' to the outer level.
  const r = StreamReader.fromBytes(b(1, sub("devy", 1, 3)));
  const rec: StateRecord = {};
  loadState(r, parent, rec, 1, strict);
  deepStrictEqual(rec, { a: 1 });
  strictEqual(r.offset, 1, "strict mode leaves a name without '/' to the outer level");
});

Deno.test("loadState() rejects a subsection that appears twice unless told to accept it", () => {
  const twice = b(1, sub("dev/one", 1, 2), sub("dev/one", 1, 3));
  const e = caught(() => load(parent, twice, {}));
  strictEqual(e instanceof StateValidationError, true);
  strictEqual(e.message.includes("appears twice"), true);
  strictEqual((e as MigrationError).offset, 1 + (2 + "dev/one".length + 4 + 1));
  deepStrictEqual(load(parent, twice, {}, 1, { rejectDuplicateSubsections: false }), {
    a: 1,
    one: 3,
  });
});

Deno.test("loadState() names the failing field inside a subsection in the error path", () => {
  const d = F.vmsd({
    name: "dev",
    fields: [F.uint8("a")],
    subsections: [F.vmsd({ name: "dev/eq", fields: [F.uint8Equal("e")] })],
  });
  const e = caught(() => load(d, b(1, sub("dev/eq", 1, 9)), { e: 8 }));
  strictEqual((e as MigrationError).path, "dev/eq.e");
  strictEqual((e as MigrationError).offset, 1 + 2 + 6 + 4);
});

Deno.test("displayPath() renders engine paths with the top-level name", () => {
  strictEqual(displayPath("top", undefined), undefined);
  strictEqual(displayPath("top", ".a.b[2]"), "top.a.b[2]");
  strictEqual(displayPath("top", "\u0000top/s.x"), "top/s.x");
  strictEqual(displayPath("top", "\u0000top/s\u0000top/s/t.x"), "top/s/top/s/t.x");
});

Deno.test("VmStateLoader cannot be used to save", () => {
  throws(() => new VmStateLoader(StreamReader.fromBytes(b())).save(), StateValidationError);
});

// ---------------------------------------------------------------------------------------------
// Property tests: random descriptions and states round-trip, in one piece and in chunks.

type Leaf = { info: VmStateInfo; arb: fc.Arbitrary<unknown>; zero: unknown };

const LEAVES: Leaf[] = [
  { info: I.vmstateBool, arb: fc.boolean(), zero: false },
  { info: I.vmstateInt8, arb: fc.integer({ min: -128, max: 127 }), zero: 0 },
  { info: I.vmstateUint8, arb: fc.integer({ min: 0, max: 255 }), zero: 0 },
  { info: I.vmstateInt16, arb: fc.integer({ min: -32768, max: 32767 }), zero: 0 },
  { info: I.vmstateUint16, arb: fc.integer({ min: 0, max: 0xffff }), zero: 0 },
  { info: I.vmstateInt32, arb: fc.integer({ min: -0x80000000, max: 0x7fffffff }), zero: 0 },
  { info: I.vmstateUint32, arb: fc.integer({ min: 0, max: 0xffffffff }), zero: 0 },
  { info: I.vmstateInt64, arb: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), zero: 0n },
  { info: I.vmstateUint64, arb: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), zero: 0n },
  { info: I.vmstateTimer, arb: fc.bigInt({ min: -1n, max: 2n ** 62n }), zero: -1n },
  { info: I.vmstateCpuDouble, arb: fc.double({ noNaN: true }), zero: 0 },
];

type FieldShape =
  | { kind: "scalar"; leaf: number; version: number }
  | { kind: "array"; leaf: number; num: number }
  | { kind: "varray"; leaf: number; cap: number; count: "uint8" | "uint16" | "uint32" | "int32" }
  | { kind: "buffer"; size: number }
  | { kind: "struct"; shape: Shape; num: number };

interface Shape {
  version: number;
  fields: FieldShape[];
  subs: { needed: boolean; shape: Shape }[];
}

/**
 * Shapes of descriptions. A struct element always has at least one field: with none, the next
 * array element would start with the same subsection as the one before it, which the wire cannot
 * tell apart from a repeated subsection (QEMU would load both into the first element).
 */
function shapeArb(depth: number, minFields = 0): fc.Arbitrary<Shape> {
  const leaf = fc.integer({ min: 0, max: LEAVES.length - 1 });
  const kinds: fc.Arbitrary<FieldShape>[] = [
    fc.record({
      kind: fc.constant("scalar" as const),
      leaf,
      version: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({ kind: fc.constant("array" as const), leaf, num: fc.integer({ min: 1, max: 4 }) }),
    fc.record({
      kind: fc.constant("varray" as const),
      leaf,
      cap: fc.integer({ min: 0, max: 5 }),
      count: fc.constantFrom(
        "uint8" as const,
        "uint16" as const,
        "uint32" as const,
        "int32" as const,
      ),
    }),
    fc.record({ kind: fc.constant("buffer" as const), size: fc.integer({ min: 1, max: 6 }) }),
  ];
  if (depth > 0) {
    kinds.push(
      fc.record({
        kind: fc.constant("struct" as const),
        shape: shapeArb(depth - 1, 1),
        num: fc.integer({ min: 0, max: 3 }),
      }),
    );
  }
  return fc.record({
    version: fc.integer({ min: 3, max: 5 }),
    fields: fc.array(fc.oneof(...kinds), { minLength: minFields, maxLength: 5 }),
    subs: depth > 0
      ? fc.array(fc.record({ needed: fc.boolean(), shape: shapeArb(depth - 1) }), { maxLength: 2 })
      : fc.constant([]),
  });
}

/** A description for a shape, with a zero record and a state arbitrary to match. */
interface Built {
  vmsd: VmStateDescription;
  zero: () => StateRecord;
  state: fc.Arbitrary<StateRecord>;
}

function build(shape: Shape, name: string, counter = { n: 0 }): Built {
  const fields: VmStateField[] = [];
  const zeros: [string, () => unknown][] = [];
  const arbs: [string, fc.Arbitrary<unknown>][] = [];
  for (const fs of shape.fields) {
    const key = `f${counter.n++}`;
    if (fs.kind === "scalar") {
      const l = LEAVES[fs.leaf];
      fields.push({
        name: key,
        info: l.info,
        flags: VMS.SINGLE,
        size: l.info.size,
        versionId: fs.version,
      });
      zeros.push([key, () => l.zero]);
      arbs.push([key, l.arb]);
    } else if (fs.kind === "array") {
      const l = LEAVES[fs.leaf];
      fields.push(F.array(key, l.info, fs.num));
      zeros.push([key, () => Array(fs.num).fill(l.zero)]);
      arbs.push([key, fc.array(l.arb, { minLength: fs.num, maxLength: fs.num })]);
    } else if (fs.kind === "varray") {
      const l = LEAVES[fs.leaf];
      const countKey = `${key}_n`;
      const countField =
        { uint8: F.uint8, uint16: F.uint16, uint32: F.uint32, int32: F.int32 }[fs.count];
      fields.push(countField(countKey), F.varray(key, l.info, countKey, { countType: fs.count }));
      zeros.push([countKey, () => 0], [key, () => Array(fs.cap).fill(l.zero)]);
      // The count goes with the array: elements past it are not sent and stay zero.
      arbs.push([
        `${key}\u0000${countKey}`,
        fc.integer({ min: 0, max: fs.cap }).chain((n) =>
          fc.array(l.arb, { minLength: n, maxLength: n }).map((
            v,
          ) => [n, [...v, ...Array(fs.cap - n).fill(l.zero)]])
        ),
      ]);
    } else if (fs.kind === "buffer") {
      fields.push(F.buffer(key, fs.size));
      zeros.push([key, () => new Uint8Array(fs.size)]);
      arbs.push([key, fc.uint8Array({ minLength: fs.size, maxLength: fs.size })]);
    } else {
      const inner = build(fs.shape, `${name}.${key}`);
      fields.push(
        fs.num === 0 ? F.struct(key, inner.vmsd) : F.structArray(key, inner.vmsd, fs.num),
      );
      const n = fs.num;
      zeros.push([key, () => n === 0 ? inner.zero() : Array.from({ length: n }, inner.zero)]);
      arbs.push([
        key,
        n === 0 ? inner.state : fc.array(inner.state, { minLength: n, maxLength: n }),
      ]);
    }
  }
  const subs: VmStateDescription[] = [];
  const subZeros: (() => StateRecord)[] = [];
  const subArbs: fc.Arbitrary<StateRecord>[] = [];
  shape.subs.forEach((s, i) => {
    const built = build(s.shape, `${name}/s${i}`, counter);
    subs.push({ ...built.vmsd, needed: () => s.needed });
    subZeros.push(built.zero);
    // A subsection that is not sent leaves the destination's values: generate them as zero.
    subArbs.push(s.needed ? built.state : fc.constant(null).map(built.zero));
  });
  const vmsd = F.vmsd({
    name,
    versionId: shape.version,
    minimumVersionId: 1,
    fields,
    subsections: subs,
  });
  const zero = () => {
    const rec: StateRecord = {};
    for (const [k, z] of zeros) rec[k] = z();
    for (const z of subZeros) Object.assign(rec, z());
    return rec;
  };
  const state = fc.tuple(fc.tuple(...arbs.map(([, a]) => a)), fc.tuple(...subArbs)).map(
    ([values, subValues]) => {
      const rec: StateRecord = {};
      arbs.forEach(([k, _], i) => {
        if (k.includes("\u0000")) {
          const [arrKey, countKey] = k.split("\u0000");
          const [n, arr] = values[i] as [number, unknown[]];
          rec[countKey] = n;
          rec[arrKey] = arr;
        } else {
          rec[k] = values[i];
        }
      });
      for (const s of subValues) Object.assign(rec, s);
      return rec;
    },
  );
  return { vmsd, zero, state };
}

const described = shapeArb(2).chain((shape) => {
  const built = build(shape, "dev");
  return built.state.map((state) => ({ built, state }));
});

Deno.test("loadState() of saveState() output gives back any state of any description", () => {
  fc.assert(
    fc.property(described, ({ built, state }) => {
      const bytes = save(built.vmsd, state);
      deepStrictEqual(load(built.vmsd, bytes, built.zero()), state);
    }),
    { numRuns: 300 },
  );
});

Deno.test("loadState() reading in chunks of any size gives the same result as fromBytes", async () => {
  await fc.assert(
    fc.asyncProperty(described, fc.integer({ min: 1, max: 64 }), async ({ built, state }, k) => {
      const bytes = save(built.vmsd, state);
      const r = StreamReader.fromSource(bytesSource(bytes, k), 16);
      const loaded = await r.retrying(() => {
        const rec = built.zero();
        loadState(r, built.vmsd, rec, built.vmsd.versionId);
        return rec;
      });
      deepStrictEqual(loaded, state);
      strictEqual(r.offset, bytes.length);
    }),
    { numRuns: 200 },
  );
});

Deno.test("loadState() of any strict prefix either succeeds or throws a MigrationError", async () => {
  await fc.assert(
    fc.asyncProperty(
      described,
      fc.nat(),
      fc.integer({ min: 1, max: 8 }),
      async ({ built, state }, cut, k) => {
        const bytes = save(built.vmsd, state);
        if (bytes.length === 0) return;
        const prefix = bytes.subarray(0, cut % bytes.length);
        for (
          const r of [
            StreamReader.fromBytes(prefix),
            StreamReader.fromSource(bytesSource(prefix, k), 4),
          ]
        ) {
          try {
            await r.retrying(() => loadState(r, built.vmsd, built.zero(), built.vmsd.versionId));
          } catch (e) {
            strictEqual(e instanceof MigrationError, true, String(e));
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
