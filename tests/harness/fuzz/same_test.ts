import { strictEqual } from "node:assert/strict";
import { sameValue } from "../../../harness/fuzz/same.ts";
import { diffValues, type StateDifference } from "../../../harness/replay/state_diff.ts";

function differs(a: unknown, b: unknown): boolean {
  const d: StateDifference[] = [];
  diffValues("x", "", a, b, d, 1);
  return d.length > 0;
}

Deno.test("sameValue() says equal exactly when there is nothing for diffValues to report", () => {
  const base = () => ({
    a: 1,
    big: 2n,
    list: [1, 2, { q: 3 }],
    bytes: new Uint8Array([1, 2, 3]),
    words: new Uint32Array([4, 5]),
    m: new Map([["k", 1]]),
    nested: { x: "s", y: null },
  });
  strictEqual(sameValue(base(), base()), true);
  const changes: ((r: ReturnType<typeof base>) => void)[] = [
    (r) => r.a = 2,
    (r) => r.big = 3n,
    (r) => (r.list[2] as { q: number }).q = 4,
    (r) => r.list.push(4),
    (r) => r.bytes[2] = 0,
    (r) => r.words[0] = 0,
    (r) => r.m.set("k", 2),
    (r) => r.nested.x = "t",
  ];
  for (const change of changes) {
    const b = base();
    change(b);
    strictEqual(sameValue(base(), b), false);
    strictEqual(differs(base(), b), true);
  }
  // NaN is itself; a typed array is not an array of the same numbers.
  strictEqual(sameValue({ f: NaN }, { f: NaN }), true);
  strictEqual(sameValue(new Uint8Array([1]), [1]), false);
  strictEqual(sameValue(new Uint8Array([1]), new Int8Array([1])), false);
});
