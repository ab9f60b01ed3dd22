import { deepStrictEqual, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { cloneRecord } from "../../../migration/vmstate/clone.ts";

Deno.test("cloneRecord() copies plain records deeply, as structuredClone does", () => {
  const rec = {
    a: 1,
    b: -5n,
    s: "x",
    n: null,
    u: undefined,
    nested: { list: [1, { z: 2 }], bytes: new Uint8Array([1, 2, 3]) },
    words: new BigUint64Array([7n]),
  };
  const c = cloneRecord(rec);
  deepStrictEqual(c, structuredClone(rec));
  notStrictEqual(c.nested, rec.nested);
  notStrictEqual(c.nested.list[1], rec.nested.list[1]);
  c.nested.bytes[0] = 9;
  strictEqual(rec.nested.bytes[0], 1);
  ok(c.words instanceof BigUint64Array);
});

Deno.test("cloneRecord() hands what is not plain data to structuredClone", () => {
  // Its error for a function, unchanged (the loader reports it as an environment error).
  throws(() => cloneRecord({ a: 1, hook: () => 0 }), (e) => {
    let expected: unknown;
    try {
      structuredClone({ hook: () => 0 });
    } catch (x) {
      expected = x;
    }
    return (e as Error).name === (expected as Error).name;
  });
  // A Map, and two views sharing one buffer (structuredClone keeps them sharing).
  const buf = new Uint8Array(8);
  const rec = { m: new Map([[1, 2]]), lo: buf.subarray(0, 4), hi: buf.subarray(4) };
  const c = cloneRecord(rec);
  deepStrictEqual(c.m, new Map([[1, 2]]));
  c.lo[0] = 1;
  strictEqual(c.hi.buffer, c.lo.buffer);
  strictEqual(buf[0], 0);
  // A cycle.
  const cyc: Record<string, unknown> = { a: 1 };
  cyc.self = cyc;
  const cc = cloneRecord(cyc);
  strictEqual(cc.self, cc);
});
