import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import { type Piece, PieceTable } from "../../../migration/corrupt/pieces.ts";

const input = Uint8Array.from({ length: 32 }, (_, i) => i);
const lit = (...b: number[]): Piece => ({ src: "bytes", bytes: Uint8Array.from(b) });
const out = (t: PieceTable) => [...t.assemble(input)];

Deno.test("replace, insert and delete address input offsets, whatever came before", () => {
  const t = new PieceTable(input.length);
  t.replace(2, 4, [lit(0xaa)]); // shrinks the output by one
  t.replace(10, 10, [lit(0xbb, 0xcc)]); // still input offset 10
  t.replace(20, 25, []);
  strictEqual(t.length, 32 - 1 + 2 - 5);
  deepStrictEqual(out(t).slice(0, 12), [0, 1, 0xaa, 4, 5, 6, 7, 8, 9, 0xbb, 0xcc, 10]);
  deepStrictEqual(out(t).slice(-8), [18, 19, 25, 26, 27, 28, 29, 30, 31].slice(-8));
});

Deno.test("an operation on bytes an earlier one removed is a conflict, and changes nothing", () => {
  const t = new PieceTable(input.length);
  t.replace(4, 8, []);
  const before = out(t);
  throws(
    () => t.replace(6, 7, [lit(1)]),
    (e) => e instanceof CorruptOpError && e.code === "conflict",
  );
  throws(() => t.replace(3, 5, []), (e) => e instanceof CorruptOpError && e.code === "conflict");
  throws(() => t.replace(30, 40, []), (e) => e instanceof CorruptOpError && e.code === "range");
  deepStrictEqual(out(t), before);
});

Deno.test("inserting at the end of the input appends; truncate cuts the output", () => {
  const t = new PieceTable(input.length);
  t.replace(32, 32, [lit(7, 7)]);
  strictEqual(t.length, 34);
  t.truncate(3);
  deepStrictEqual(out(t), [0, 1, 2]);
  throws(() => t.truncate(4), CorruptOpError);
  t.truncate(0);
  strictEqual(t.length, 0);
});

Deno.test("restore undoes everything since the list was taken", () => {
  const t = new PieceTable(input.length);
  const saved = t.list.slice();
  t.replace(0, 16, []);
  t.restore(saved);
  deepStrictEqual(out(t), [...input]);
});

Deno.test("non-overlapping edits applied in any order give the model's bytes", () => {
  // Model: edits sorted by offset, applied back to front on a plain array.
  const edit = fc.record({
    at: fc.nat(31),
    len: fc.nat(3),
    ins: fc.array(fc.nat(255), { maxLength: 3 }),
  });
  fc.assert(fc.property(fc.array(edit, { maxLength: 6 }), (edits) => {
    const chosen: typeof edits = [];
    for (const e of edits) {
      const end = Math.min(32, e.at + e.len);
      if (chosen.every((c) => end < c.at || Math.min(32, c.at + c.len) < e.at)) chosen.push(e);
    }
    const t = new PieceTable(32);
    for (const e of chosen) t.replace(e.at, Math.min(32, e.at + e.len), [lit(...e.ins)]);
    const model = [...input];
    for (const e of [...chosen].sort((a, b) => b.at - a.at)) {
      model.splice(e.at, Math.min(32, e.at + e.len) - e.at, ...e.ins);
    }
    deepStrictEqual(out(t), model);
  }));
});

Deno.test("assembleTail into a reused buffer gives assemble's bytes, case after case", () => {
  const edit = fc.record({
    at: fc.nat(31),
    len: fc.nat(3),
    ins: fc.array(fc.nat(255), { maxLength: 5 }),
    cut: fc.option(fc.nat(40), { freq: 5 }),
    shared: fc.boolean(),
  });
  // Like the fuzzer's pre-parsed RAM payloads: one literal array in many cases.
  const shared = lit(0xaa, 0xbb, 0xcc);
  fc.assert(fc.property(fc.array(fc.array(edit, { maxLength: 3 }), { maxLength: 8 }), (cases) => {
    const buf = new Uint8Array(64).fill(0xee);
    let last: readonly Piece[] = []; // nothing known to be there yet
    for (const edits of cases) {
      const t = new PieceTable(32);
      for (const e of edits) {
        try {
          t.replace(e.at, Math.min(32, e.at + e.len), [e.shared ? shared : lit(...e.ins)]);
          if (e.cut !== null && e.cut <= t.length) t.truncate(e.cut);
        } catch { /* a conflict: the table is as it was */ }
      }
      const r = t.assembleTail(input, buf, last);
      deepStrictEqual([...r], out(t));
      strictEqual(r.byteOffset + r.length, buf.length, "it ends at the buffer's end");
      last = t.list.slice();
    }
  }));
  throws(() => new PieceTable(32).assembleTail(input, new Uint8Array(31), []), RangeError);
});
