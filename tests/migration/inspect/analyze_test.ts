import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  analyzeDesc,
  analyzeState,
  pythonJson,
  structValue,
} from "../../../migration/inspect/analyze.ts";
import { inspect } from "../../../migration/inspect/decoder.ts";
import { bytesInput, fileInput } from "../../../migration/inspect/input.ts";
import { buildStream, Bytes, DESC_JSON, EXPECTED_STATE, fixture, hasFixture } from "./_stream.ts";

/** Committed QEMU 7.2 streams that have analyze-migration.py outputs next to them. */
export const FIXTURES = ["virt-reset", "virt-running"].filter((n) => hasFixture(`${n}.qemu`));

for (const name of FIXTURES) {
  Deno.test(`analyze: ${name} equals analyze-migration.py -d state, byte for byte`, async () => {
    const r = await inspect(await fileInput(fixture(`${name}.qemu`)));
    assertEquals(r.warnings, []);
    const text = await Deno.readTextFile(fixture(`${name}.analyze.json`));
    const state = analyzeState(r);
    assertEquals(state, JSON.parse(text));
    assertEquals(pythonJson(state) + "\n", text);
  });
  Deno.test(`analyze: ${name} equals analyze-migration.py -d desc, byte for byte`, async () => {
    const r = await inspect(await fileInput(fixture(`${name}.qemu`)));
    const text = await Deno.readTextFile(fixture(`${name}.desc.json`));
    const desc = analyzeDesc(r);
    assertEquals(desc, JSON.parse(text));
    assertEquals(pythonJson(desc!) + "\n", text);
  });
}

Deno.test("analyze: desc collapses duplicate keys like Python (first position, last value)", async () => {
  const r = await inspect(bytesInput(buildStream().bytes));
  const desc = analyzeDesc(r) as { devices: { fields: Record<string, unknown>[] }[] };
  const t = desc.devices[0].fields[5];
  assertEquals(Object.keys(t), ["name", "type", "fields", "size"]);
  assertEquals(t.fields, [{ name: "x" }]);
  assertEquals(JSON.parse(DESC_JSON).page_size, 4096);
  assertEquals(
    analyzeDesc(await inspect(bytesInput(buildStream({ vmdesc: "none" }).bytes))),
    undefined,
  );
});

Deno.test("analyze: state of a built stream, and the spapr/htab placeholder", async () => {
  assertEquals(analyzeState(await inspect(bytesInput(buildStream().bytes))), EXPECTED_STATE);
  const w = new Bytes().be32(0x5145564d).be32(3).u8(1).be32(1).str8("spapr/htab").be32(0).be32(1);
  w.be32(0).be32(7).be16(1).be16(0).raw(new Uint8Array(16)).be32(0).be16(0).be16(0).u8(0x7e).be32(1)
    .u8(0);
  const r = await inspect(bytesInput(w.bytes()));
  assertEquals(analyzeState(r), { "spapr/htab (1)": "" });
  assertEquals(r.end.complete, true);
});

Deno.test("analyze: structValue lists indexed fields, later plain duplicates win", () => {
  const int = (v: number) => ({
    kind: "int" as const,
    size: 1,
    signed: false,
    value: BigInt(v),
    unsigned: BigInt(v),
  });
  const f = (name: string, v: number, index?: number) => ({
    name,
    type: "uint8",
    offset: 0,
    size: 1,
    index,
    value: int(v),
  });
  assertEquals(
    structValue({
      kind: "struct",
      fields: [f("a", 1, 0), f("b", 2), f("a", 3, 1), f("b", 4)],
      subsections: [],
    }),
    { a: ["0x01", "0x03"], b: "0x04" },
  );
});

Deno.test("analyze: pythonJson matches json.dumps(indent=4) escaping and layout", () => {
  assertEquals(
    pythonJson({ a: [], b: {}, c: [1, true, null] }),
    '{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        true,\n        null\n    ]\n}',
  );
  assertEquals(
    pythonJson('é"\\\n\u0001\u007f\u{1f600}/'),
    '"\\u00e9\\"\\\\\\n\\u0001\\u007f\\ud83d\\ude00/"',
  );
});
