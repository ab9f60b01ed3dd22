import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { shrinkRecipe, simplerVariants } from "../../../harness/fuzz/shrink.ts";
import type { CorruptOp } from "../../../migration/corrupt/ops.ts";

const flip = (offset: number): CorruptOp => ({ op: "flip", offset, bit: 0 });

Deno.test("operations that do not matter are dropped", async () => {
  const ops = [flip(1), flip(7), flip(3), { op: "set-byte", offset: 9, value: 0x80 } as CorruptOp];
  const fails = (o: CorruptOp[]) =>
    Promise.resolve(o.some((x) => x.op === "flip" && x.offset === 7));
  const r = await shrinkRecipe(ops, fails, 100);
  deepStrictEqual(r.ops, [flip(7)]);
});

Deno.test("remaining operations are made smaller while the failure holds", async () => {
  const ops: CorruptOp[] = [
    { op: "delete", offset: 5, length: 40 },
    { op: "set-field", path: "serial.lsr", value: "0xff" },
  ];
  // Fails whenever something is deleted at 5 and the field is set at all.
  const fails = (o: CorruptOp[]) => Promise.resolve(o.length === 2);
  const r = await shrinkRecipe(ops, fails, 100);
  deepStrictEqual(r.ops, [
    { op: "delete", offset: 5, length: 1 },
    { op: "set-field", path: "serial.lsr", value: "0x0" },
  ]);
});

Deno.test("the evaluation budget is respected", async () => {
  let calls = 0;
  const ops = Array.from({ length: 30 }, (_, i) => flip(i));
  const r = await shrinkRecipe(ops, () => (calls++, Promise.resolve(false)), 100, 10);
  strictEqual(calls, 10);
  strictEqual(r.evaluations, 10);
  strictEqual(r.ops.length, 30);
});

Deno.test("simpler variants are strictly simpler, so shrinking always ends", () => {
  fc.assert(fc.property(
    fc.oneof(
      fc.record({ op: fc.constant("set-byte" as const), offset: fc.nat(), value: fc.nat(255) }),
      fc.record({ op: fc.constant("truncate" as const), length: fc.nat(1000) }),
      fc.record({
        op: fc.constant("delete" as const),
        offset: fc.nat(),
        length: fc.integer({ min: 1, max: 99 }),
      }),
      fc.record({
        op: fc.constant("set-version" as const),
        section: fc.constant("serial"),
        version: fc.nat(9),
      }),
    ),
    (op) => {
      let cur: CorruptOp = { ...op };
      for (let steps = 0; steps < 64; steps++) {
        const v = simplerVariants(cur, 1000);
        if (!v.length) return;
        ok(JSON.stringify(v[0]) !== JSON.stringify(cur));
        cur = v[0];
      }
      ok(false, `no end: ${JSON.stringify(op)}`);
    },
  ));
});
