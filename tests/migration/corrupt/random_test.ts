import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { applyOps } from "../../../migration/corrupt/apply.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import {
  interestingValue,
  randomOp,
  randomOps,
  Rng,
  STRATEGY_WEIGHTS,
  Targets,
} from "../../../migration/corrupt/random.ts";
import { resolveField } from "../../../migration/corrupt/selectors.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { demoSnapshot } from "./_snapshot.ts";

const snap = await demoSnapshot();
const layout = await layoutOfBytes(snap);
const ctx = { layout, input: bytesAccess(snap) };
const targets = new Targets(layout);

Deno.test("the PRNG is deterministic and spreads over its range", () => {
  const a = new Rng(7), b = new Rng(7);
  const xs = Array.from({ length: 1000 }, () => a.int(10));
  deepStrictEqual(xs, Array.from({ length: 1000 }, () => b.int(10)));
  for (let v = 0; v < 10; v++) ok(xs.filter((x) => x === v).length > 50, `value ${v}`);
  strictEqual(new Rng(1).next(), new Rng(1).next());
  ok(new Rng(1).next() !== new Rng(2).next());
});

Deno.test("the same seed draws the same operations, another seed others", async () => {
  const one = await randomOps(ctx, targets, new Rng(1234), 6);
  const again = await randomOps(ctx, targets, new Rng(1234), 6);
  deepStrictEqual(one.ops, again.ops);
  deepStrictEqual(one.table.assemble(snap), again.table.assemble(snap));
  notDeepStrictEqual((await randomOps(ctx, targets, new Rng(99), 6)).ops, one.ops);
});

Deno.test("drawn operations always apply cleanly when replayed as a recipe", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 1, max: 5 }),
      async (seed, k) => {
        const drawn = await randomOps(ctx, targets, new Rng(seed), k);
        strictEqual(drawn.ops.length, k);
        const table = await applyOps(ctx, drawn.ops);
        deepStrictEqual(table.assemble(snap), drawn.table.assemble(snap));
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("every strategy with a weight can be drawn and applied on our snapshot", async () => {
  const rng = new Rng(5);
  for (const op of Object.keys(STRATEGY_WEIGHTS) as (keyof typeof STRATEGY_WEIGHTS)[]) {
    // No XBZRLE records or commands here: ram_fields_test.ts and command_fields_test.ts draw them.
    if (op === "set-xbzrle" || op === "set-command") continue;
    let applied = false;
    for (let i = 0; i < 20 && !applied; i++) {
      try {
        await applyOps(ctx, [randomOp(rng, targets, op)]);
        applied = true;
      } catch { /* a draw that does not apply (e.g. a delete past the end): draw again */ }
    }
    ok(applied, op);
  }
});

Deno.test("interesting values fit their field", () => {
  const rng = new Rng(3);
  const f = resolveField(layout, "nvme.sq[3].tail");
  for (let i = 0; i < 200; i++) {
    const v = BigInt(interestingValue(rng, f));
    ok(v >= 0n && v <= 0xffffn, String(v));
  }
});

Deno.test("targets cover small sections as much as big ones", () => {
  const rng = new Rng(11);
  let inSerial = 0;
  const serial = layout.chunks.find((c) => c.section === "serial")!;
  for (let i = 0; i < 4000; i++) {
    const o = targets.offset(rng);
    if (o >= serial.offset && o < serial.offset + serial.size) inSerial++;
  }
  // serial is a few dozen bytes of a ~1 MiB stream; uniform offsets would almost never hit it.
  ok(inSerial > 40, `${inSerial}`);
});
