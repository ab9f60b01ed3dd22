import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { decodeVmsd, formatLeaf } from "../../../migration/inspect/vmsd.ts";
import type { LeafValue } from "../../../migration/inspect/model.ts";
import { hexBytes } from "../../../migration/format.ts";
import { parseVmdesc } from "../../../migration/inspect/vmdesc.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamFormatError, StreamTruncatedError } from "../../../migration/errors.ts";
import { buildStream, DESC_JSON } from "./_stream.ts";

const desc = parseVmdesc(new TextEncoder().encode(DESC_JSON), 0).devices[0];

Deno.test("vmsd: array_len fields decode one indexed element each (at least one), ints lazily", () => {
  const d = {
    fields: [
      { name: "a", type: "uint8", size: 1, arrayLen: 3 },
      { name: "z", type: "int16", size: 2, arrayLen: 0 },
      { name: "big", type: "int64", size: 8 },
      { name: "u", type: "uint32", size: 4 },
    ],
    subsections: [],
  };
  const bytes = new Uint8Array([
    1,
    2,
    0xff,
    0xff,
    0xfe,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xfd,
    0x80,
    0,
    0,
    1,
  ]);
  const r = StreamReader.fromBytes(bytes);
  const v = decodeVmsd(r, d, 100, "dev", () => {});
  assertEquals(v.fields.map((f) => [f.name, f.index, f.offset]), [
    ["a", 0, 100],
    ["a", 1, 101],
    ["a", 2, 102],
    ["z", 0, 103],
    ["big", undefined, 105],
    ["u", undefined, 113],
  ]);
  const leaves = v.fields.map((f) => f.value as LeafValue);
  assertEquals(leaves.map((l) => formatLeaf(l)), [
    "0x01",
    "0x02",
    "0xff",
    "0xfffe (-2)",
    "0xfffffffffffffffd (-3)",
    "0x80000001",
  ]);
  const ints = leaves.map((l) => l.kind === "int" ? [l.value, l.unsigned] : undefined);
  assertEquals(ints[3], [-2n, 0xfffen]);
  assertEquals(ints[4], [-3n, 0xfffffffffffffffdn]);
  assertEquals(ints[5], [0x80000001n, 0x80000001n]);
  assertEquals(r.offset, bytes.length);
});

Deno.test("vmsd: decodes a payload by the description, with offsets", () => {
  const s = buildStream();
  const r = StreamReader.fromBytes(s.bytes.subarray(s.devPayload));
  const warnings: string[] = [];
  const v = decodeVmsd(r, desc, s.devPayload, "dev", (c) => warnings.push(c));
  assertEquals(warnings, []);
  assertEquals(v.fields.map((f) => [f.name, f.index, f.offset - s.devPayload, f.size]), [
    ["neg", undefined, 0, 4],
    ["flag", undefined, 4, 1],
    ["arr", 0, 5, 2],
    ["arr", 1, 7, 2],
    ["arr", 2, 9, 2],
    ["s", undefined, 11, 1],
    ["buf", undefined, 12, 3],
    ["t", undefined, 15, 2],
  ]);
  assertEquals(v.subsections.map((x) => [x.name, x.version, x.offset - s.devPayload]), [[
    "dev/sub",
    2,
    17,
  ]]);
  assertEquals(r.offset, 17 + 1 + 1 + 7 + 4 + 1);
});

Deno.test("vmsd: leaf formatting follows analyze-migration.py", () => {
  assertEquals(
    formatLeaf({ kind: "int", size: 4, signed: true, value: -2n, unsigned: 0xfffffffen }),
    "0xfffffffe (-2)",
  );
  assertEquals(
    formatLeaf({ kind: "int", size: 2, signed: false, value: 5n, unsigned: 5n }),
    "0x0005",
  );
  assertEquals(formatLeaf({ kind: "bool", value: false }), false);
  assertEquals(formatLeaf({ kind: "bytes", bytes: new Uint8Array([0, 15, 255]) }), "00 0f ff");
  assertEquals(hexBytes(new Uint8Array()), "");
});

Deno.test("vmsd: missing subsection and truncation are typed errors", () => {
  const s = buildStream();
  const cut = s.bytes.slice(s.devPayload, s.devPayload + 17);
  throws(
    () =>
      decodeVmsd(StreamReader.fromBytes(Uint8Array.from([...cut, 0x7e])), desc, 0, "dev", () => {}),
    (e) =>
      e instanceof StreamFormatError && e.offset === 17 &&
      /Subsection dev\/sub not found/.test(e.message),
  );
  throws(
    () => decodeVmsd(StreamReader.fromBytes(cut.subarray(0, 9)), desc, 0, "dev", () => {}),
    StreamTruncatedError,
  );
  throws(
    () =>
      decodeVmsd(
        StreamReader.fromBytes(cut),
        { fields: [{ name: "x", type: "uint8" }], subsections: [] },
        0,
        "d",
        () => {},
      ),
    StreamFormatError,
  );
});

Deno.test("vmsd: a subsection whose name differs from the description is warned about", () => {
  const bytes = Uint8Array.from([0x05, 3, 0x61, 0x2f, 0x62, 0, 0, 0, 1, 9]);
  const codes: string[] = [];
  const v = decodeVmsd(
    StreamReader.fromBytes(bytes),
    {
      fields: [],
      subsections: [{
        vmsdName: "a/c",
        fields: [{ name: "q", type: "uint8", size: 1 }],
        subsections: [],
      }],
    },
    0,
    "a",
    (c) => codes.push(c),
  );
  assertEquals(codes, ["subsection-name"]);
  assertEquals(v.subsections[0].name, "a/b");
});
