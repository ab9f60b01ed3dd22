import { deepStrictEqual as assertEquals, ok, strictEqual, throws } from "node:assert/strict";
import {
  deviceKey,
  locateExactInTail,
  locateVmdescInTail,
  parseVmdesc,
} from "../../../migration/inspect/vmdesc.ts";
import { JsonObject } from "../../../migration/inspect/json_pairs.ts";
import { StreamFormatError } from "../../../migration/errors.ts";
import { buildStream, DESC_JSON, fixture, hasFixture } from "./_stream.ts";

const enc = new TextEncoder();

Deno.test("vmdesc: exact tail search finds the trailer of a built stream", () => {
  const s = buildStream();
  const loc = locateVmdescInTail(s.bytes, s.bytes.length);
  assertEquals(loc, {
    offset: s.vmdesc,
    jsonOffset: s.vmdesc + 5,
    declaredLength: DESC_JSON.length,
    length: DESC_JSON.length,
    method: "exact",
  });
  // Searching only a short tail still works when the tail covers the trailer.
  const tail = s.bytes.subarray(s.vmdesc - 3);
  assertEquals(locateVmdescInTail(tail, s.bytes.length)?.offset, s.vmdesc);
});

Deno.test("vmdesc: damaged length falls back to analyze-migration's heuristic", () => {
  const s = buildStream({ vmdesc: "bad-length" });
  const loc = locateVmdescInTail(s.bytes, s.bytes.length);
  ok(loc);
  assertEquals(loc.method, "heuristic");
  assertEquals(loc.offset, s.vmdesc);
  assertEquals(loc.declaredLength, DESC_JSON.length + 1000);
  assertEquals(loc.length, DESC_JSON.length);
});

Deno.test("vmdesc: no trailer, no location", () => {
  const s = buildStream({ vmdesc: "none" });
  assertEquals(locateVmdescInTail(s.bytes, s.bytes.length), undefined);
  assertEquals(locateVmdescInTail(new Uint8Array(0), 0), undefined);
});

Deno.test("vmdesc: parse keeps duplicates and normalises fields", () => {
  const d = parseVmdesc(enc.encode(DESC_JSON), 10);
  assertEquals(d.pageSize, 4096);
  assertEquals(d.problems, []);
  assertEquals(d.devices.length, 1);
  const dev = d.devices[0];
  assertEquals([dev.name, dev.instanceId, dev.vmsdName, dev.version], ["dev", 0, "dev", 1]);
  assertEquals(dev.fields[2], { name: "arr", type: "uint16", size: 2, arrayLen: 3 });
  assertEquals(dev.fields[3].struct?.fields, [{ name: "b", type: "uint8", size: 1 }]);
  assertEquals(dev.subsections[0].vmsdName, "dev/sub");
  assertEquals(deviceKey("dev", 0), "dev\u00000");
});

Deno.test("vmdesc: shape problems are listed, bad JSON throws with offset", () => {
  const d = parseVmdesc(
    enc.encode('{"devices": [{"name": "x", "instance_id": 0, "fields": [{"name": "a"}]}, 3]}'),
    0,
  );
  assertEquals(d.pageSize, undefined);
  assertEquals(d.problems.length, 3);
  throws(() => parseVmdesc(enc.encode("[1]"), 5), StreamFormatError);
  throws(() => parseVmdesc(new Uint8Array([0x7b, 0xff]), 5), StreamFormatError);
  throws(
    () => parseVmdesc(enc.encode('{"a": tru}'), 5),
    (e) => e instanceof StreamFormatError && e.offset === 11,
  );
});

Deno.test({
  name: "vmdesc: QEMU 7.2 fixture trailer is found exactly and parses",
  ignore: !hasFixture("virt-reset.qemu"),
  fn() {
    const bytes = Deno.readFileSync(fixture("virt-reset.qemu"));
    const loc = locateVmdescInTail(bytes, bytes.length);
    ok(loc);
    assertEquals(loc.method, "exact");
    assertEquals(Array.from(bytes.subarray(loc.offset - 1, loc.offset + 5)), [
      0,
      6,
      0,
      0,
      0x26,
      0xd9,
    ]);
    const raw = Deno.readFileSync(fixture("virt-reset.vmdesc.raw.json"));
    assertEquals(bytes.subarray(loc.jsonOffset), raw);
    const d = parseVmdesc(raw, loc.jsonOffset);
    assertEquals(d.problems, []);
    ok(d.devices.some((x) => x.name === "cpu"));
  },
});

Deno.test("vmdesc: read by key from JSON.parse, pairs with every repeated key built on demand", () => {
  const text =
    '{"page_size": 4096, "page_size": 8192, "devices": [{"name": "d", "instance_id": 0,' +
    ' "fields": [], "fields": [{"name": "x", "type": "uint8", "size": 1}]}]}';
  const desc = parseVmdesc(new TextEncoder().encode(text), 50);
  assertEquals(desc.pageSize, 8192); // the last value, as JsonObject.get gives
  assertEquals(desc.devices[0].fields.map((f) => f.name), ["x"]);
  const json = desc.json;
  if (!(json instanceof JsonObject)) throw new TypeError("not pairs");
  assertEquals(json.entries.map(([k]) => k), ["page_size", "page_size", "devices"]);
  strictEqual(desc.json, json); // built once
});

Deno.test("vmdesc: JSON nested past the careful parser's limit is its error, with its offset", () => {
  const text = `{"a": ${"[".repeat(600)}${"]".repeat(600)}}`;
  const e = caughtError(() => parseVmdesc(new TextEncoder().encode(text), 50));
  if (!(e instanceof StreamFormatError)) throw e;
  assertEquals(e.message.includes("Nesting too deep"), true);
  ok((e.offset ?? 0) > 50);
});

function caughtError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

Deno.test("vmdesc: the exact search finds the same trailer in any tail that holds it", () => {
  const s = buildStream();
  const whole = locateVmdescInTail(s.bytes, s.bytes.length);
  for (let from = 0; from <= s.vmdesc; from += 7) {
    assertEquals(locateExactInTail(s.bytes.subarray(from), s.bytes.length), whole);
  }
  // Too short a tail finds nothing, whatever its bytes (0x06 at its very start included).
  strictEqual(locateExactInTail(s.bytes.subarray(s.vmdesc + 1), s.bytes.length), undefined);
  strictEqual(locateExactInTail(Uint8Array.of(6, 0, 0, 0, 0), 5), undefined);
  assertEquals(
    locateExactInTail(Uint8Array.of(6, 0, 0, 0, 1, 0x7b), 6),
    {
      offset: 0,
      jsonOffset: 5,
      declaredLength: 1,
      length: 1,
      method: "exact",
    },
  );
});
