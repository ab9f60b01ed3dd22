import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  JsonObject,
  parseJsonPairs,
  setKey,
  toPython,
} from "../../../migration/inspect/json_pairs.ts";
import { StreamFormatError } from "../../../migration/errors.ts";

Deno.test("json_pairs: keeps duplicate keys in order", () => {
  const v = parseJsonPairs('{"a": 1, "f": [1], "b": {"x": null}, "f": [2, true]}');
  if (!(v instanceof JsonObject)) throw new TypeError("not an object");
  assertEquals(v.entries.map(([k]) => k), ["a", "f", "b", "f"]);
  assertEquals(v.getAll("f"), [[1], [2, true]]);
  assertEquals(v.get("f"), [2, true]);
  assertEquals(v.duplicateKeys(), ["f"]);
});

Deno.test("json_pairs: toPython collapses like OrderedDict (first position, last value)", () => {
  const v = parseJsonPairs('{"a": 1, "f": 1, "b": 2, "f": 3}');
  const p = toPython(v) as Record<string, number>;
  assertEquals(Object.keys(p), ["a", "f", "b"]);
  assertEquals(p.f, 3);
});

Deno.test("json_pairs: strings, escapes, numbers and nesting", () => {
  const v = toPython(
    parseJsonPairs(' {"s": "q\\"\\\\\\n\\u00e9\\ud83d\\ude00", "n": [-1.5e2, 0, 12]} '),
  );
  assertEquals(v, { s: 'q"\\\n\u00e9\u{1f600}', n: [-150, 0, 12] });
});

Deno.test("json_pairs: __proto__ keys become own properties", () => {
  const p = toPython(parseJsonPairs('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
  assertEquals(Object.keys(p), ["__proto__"]);
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  const o: Record<string, unknown> = {};
  setKey(o, "__proto__", 5);
  assertEquals(Object.getOwnPropertyDescriptor(o, "__proto__")?.value, 5);
});

Deno.test("json_pairs: errors carry the byte offset", () => {
  for (
    const [text, at] of [['{"a": }', 6], ['{"é": x}', 7], ['{"a": 1} x', 9], [
      '"\u0001"',
      1,
    ]] as const
  ) {
    throws(() => parseJsonPairs(text, 100), (e) => {
      return e instanceof StreamFormatError && e.offset === 100 + at;
    });
  }
  throws(() => parseJsonPairs("[".repeat(600) + "]".repeat(600)), StreamFormatError);
});
