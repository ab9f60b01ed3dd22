import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  JsonObject,
  parseJsonPairs,
  parseJsonPairsCarefully,
  setKey,
  toPython,
} from "../../../migration/inspect/json_pairs.ts";
import { StreamFormatError } from "../../../migration/errors.ts";
import fc from "fast-check";

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

Deno.test("json_pairs: the fast paths give exactly what the careful parser gives", () => {
  const cases = [
    '{"a": 1, "b": {"c": [1, 2, {"d": null}]}, "e": "x"}',
    '{"a": 1, "f": [1], "b": {"x": null}, "f": [2, true]}', // duplicate keys
    '{"name": "0000:00:01.0/ide", "k": ":", "v": "\\":"}', // colons in strings
    '{"b": 1, "10": 2, "2": 3, "a": {"1": 0, "0": 1}}', // index-like keys JSON.parse reorders
    '{"a\\u0001x": 1, "a\\u0001x": 2, "\\u0001": 3}', // keys holding the mark character
    '{"__proto__": {"p": 1}, "s": "q\\"\\\\\\n\\u00e9", "n": -1.5e2}',
    '[{"x": 1}, {"x": 2, "x": 3}, [], {}]',
    '  {"deep": ' + "[".repeat(40) + "1" + "]".repeat(40) + "}  ",
  ];
  for (const text of cases) {
    assertEquals(parseJsonPairs(text, 7), parseJsonPairsCarefully(text, 7), text);
  }
});

Deno.test("json_pairs: random JSON with repeated keys parses as the careful parser does", () => {
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("a", "1", "__proto__", "x:y", "\u0001"))),
      (value, dups) => {
        let text = JSON.stringify(value);
        // Repeat keys: insert pairs at the front of every object the text opens.
        for (const [n, key] of dups) {
          const at = nthIndex(text, "{", n);
          if (at >= 0) {
            text = `${text.slice(0, at + 1)}${JSON.stringify(key)}: ${n}${
              text[at + 1] === "}" ? "" : ","
            }${text.slice(at + 1)}`;
          }
        }
        // (A `{` inside a string makes the text invalid: then both must fail alike.)
        assertEquals(
          outcome(() => parseJsonPairs(text)),
          outcome(() => parseJsonPairsCarefully(text)),
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("json_pairs: errors of the fast path's text come from the careful parser", () => {
  for (const bad of ['{"a": 1,}', '{"a": [1 2]}', '{"a": "x', "[" + "[".repeat(600) + "]"]) {
    let fast: unknown, careful: unknown;
    try {
      parseJsonPairs(bad, 100);
    } catch (e) {
      fast = e;
    }
    try {
      parseJsonPairsCarefully(bad, 100);
    } catch (e) {
      careful = e;
    }
    if (!(fast instanceof StreamFormatError)) throw new Error(`no typed error for ${bad}`);
    assertEquals([fast.message, fast.offset], [
      (careful as StreamFormatError).message,
      (careful as StreamFormatError).offset,
    ]);
  }
});

/** A parse's value, or its error's message and offset. */
function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof StreamFormatError)) throw e;
    return [e.message, e.offset];
  }
}

/** Index of the `n`-th (mod count) occurrence of `c` in `s`; -1 when there is none. */
function nthIndex(s: string, c: string, n: number): number {
  const all: number[] = [];
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) all.push(i);
  return all.length ? all[n % all.length] : -1;
}
