import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { inspect } from "../../../migration/inspect/decoder.ts";
import { bytesInput } from "../../../migration/inspect/input.ts";
import { analyzeState } from "../../../migration/inspect/analyze.ts";
import type { InspectResult, SectionChunk } from "../../../migration/inspect/model.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { buildStream, Bytes, DESC_JSON, EXPECTED_STATE } from "./_stream.ts";

const codes = (r: InspectResult) => r.warnings.map((w) => w.code);
const chunks = (r: InspectResult) => r.items.filter((i): i is SectionChunk => i.type !== "command");
const enc = new TextEncoder();

Deno.test("decoder: a complete stream with vmdesc, through several refill sizes", async () => {
  const s = buildStream();
  for (const chunk of [1, 13, 4096, 1 << 20]) {
    const r = await inspect(bytesInput(s.bytes, chunk));
    assertEquals(r.warnings, []);
    assertEquals(r.end, { offset: s.bytes.length, complete: true });
    assertEquals(r.header, { magic: 0x5145564d, version: 3 });
    assertEquals(r.configuration, { offset: 8, size: 9, machine: "virt" });
    assertEquals(r.pageSize, { value: 4096, source: "vmdesc" });
    assertEquals(r.eof, { offset: s.eof });
    assertEquals([r.vmdesc?.offset, r.vmdesc?.method, r.vmdesc?.confirmedByWalk], [
      s.vmdesc,
      "exact",
      true,
    ]);
    assertEquals(
      chunks(r).map((c) => [c.type, c.offset, c.sectionId, c.decoder, c.footer?.heuristic]),
      [
        ["start", s.ramStart, 2, "ram", false],
        ["part", s.ramPart, 2, "ram", false],
        ["full", s.dev, 3, "vmsd", false],
        ["end", s.ramEnd, 2, "ram", false],
      ],
    );
    const dev = chunks(r)[2];
    assertEquals([dev.payloadOffset, dev.size], [s.devPayload, s.ramEnd - s.dev]);
    assertEquals(r.sections.get(2)?.blocks?.map((b) => [b.name, b.zeroPages, b.dataPages]), [[
      "a",
      1,
      1,
    ], ["b/c", 0, 1]]);
    assertEquals(analyzeState(r), EXPECTED_STATE);
  }
});

Deno.test("decoder: without a vmdesc, framing, RAM and heuristic footers still decode", async () => {
  const s = buildStream({ vmdesc: "none" });
  const r = await inspect(bytesInput(s.bytes, 100));
  assertEquals(r.end.complete, true);
  assertEquals(r.vmdesc, undefined);
  assertEquals(r.pageSize.source, "assumed");
  assertEquals(codes(r), ["page-size-assumed", "no-schema", "no-vmdesc"]);
  assertEquals(r.warnings.find((w) => w.code === "no-schema")?.offset, s.devPayload);
  const dev = chunks(r)[2];
  assertEquals([dev.decoder, dev.footer?.offset, dev.footer?.heuristic], [
    "opaque",
    s.ramEnd - 5,
    true,
  ]);
  assertEquals(chunks(r)[3].type, "end");
  assertEquals(analyzeState(r), { "ram (2)": EXPECTED_STATE["ram (2)"] });
});

Deno.test("decoder: a vmdesc with bad JSON is reported and the stream decoded without it", async () => {
  const s = buildStream({ vmdesc: "bad-json" });
  const r = await inspect(bytesInput(s.bytes));
  const bad = r.warnings.find((w) => w.code === "vmdesc-invalid");
  ok(bad && bad.offset > s.vmdesc + 5 && bad.offset < s.bytes.length);
  assertEquals(r.vmdesc?.desc, undefined);
  assertEquals(r.vmdesc?.confirmedByWalk, true);
  assertEquals(r.end.complete, true);
  assertEquals(Object.keys(analyzeState(r)), ["ram (2)"]);
});

Deno.test("decoder: a vmdesc with a wrong length is still found and used", async () => {
  const s = buildStream({ vmdesc: "bad-length" });
  const r = await inspect(bytesInput(s.bytes));
  assertEquals(r.vmdesc?.method, "heuristic");
  assertEquals(r.warnings.map((w) => [w.code, w.offset]).slice(0, 1), [[
    "vmdesc-length",
    s.vmdesc,
  ]]);
  assertEquals(analyzeState(r), EXPECTED_STATE);
  ok(codes(r).includes("truncated")); // the walk sees the JSON end before its announced length
  assertEquals(r.end.complete, false);
});

Deno.test("decoder: a vmdesc the tail search misses is found by walking, then used", async () => {
  const s = buildStream();
  const bytes = Uint8Array.from([...s.bytes, 0, 0x78, 0x79]);
  const r = await inspect(bytesInput(bytes));
  assertEquals(codes(r), ["vmdesc-by-walk", "trailing-bytes"]);
  assertEquals([r.vmdesc?.method, r.vmdesc?.offset], ["walk", s.vmdesc]);
  assertEquals(r.warnings[1].offset, s.bytes.length);
  assertEquals(analyzeState(r), EXPECTED_STATE);
});

Deno.test("decoder: truncated at many offsets, decodes up to the cut and says where", async () => {
  const s = buildStream();
  const cuts = [
    0,
    3,
    8,
    12,
    s.ramStart + 10,
    s.ramPart + 3,
    s.ramPart + 50,
    s.ramPart + 3000,
    s.dev + 3,
    s.devPayload + 5,
    s.ramEnd - 2,
    s.ramEnd + 2,
    s.eof,
    s.eof + 1,
    s.vmdesc + 3,
    s.vmdesc + 20,
  ];
  for (const cut of cuts) {
    const r = await inspect(bytesInput(s.bytes.subarray(0, cut), 64));
    if (cut === s.eof + 1) {
      assertEquals([codes(r).at(-1), r.end.complete], ["no-vmdesc", true]);
      continue;
    }
    const t = r.warnings.find((w) => w.code === "truncated" || w.code === "undecodable");
    ok(t, `cut ${cut}: ${JSON.stringify(r.warnings)}`);
    ok(t.offset <= cut, `cut ${cut}: warning offset ${t.offset}`);
    assertEquals(r.end.complete, false, `cut ${cut}`);
    if (cut > s.ramPart) assertEquals(r.sections.get(2)?.blocks?.length, 2, `cut ${cut}`);
  }
});

Deno.test("decoder: an unknown section type stops the walk with its offset", async () => {
  const s = buildStream({ devType: 0x42 });
  const r = await inspect(bytesInput(s.bytes));
  const w = r.warnings.find((x) => x.code === "undecodable");
  assertEquals([w?.offset, /Unknown savevm section type 66/.test(w?.message ?? "")], [s.dev, true]);
  assertEquals(r.end, { offset: s.dev + 1, complete: false });
  assertEquals(r.vmdesc?.confirmedByWalk, false);
  ok(r.vmdesc?.desc);
  assertEquals(chunks(r).length, 2);
});

Deno.test("decoder: streams without section footers decode with the schema", async () => {
  const s = buildStream({ footers: false });
  const r = await inspect(bytesInput(s.bytes));
  assertEquals([...new Set(codes(r))], ["missing-footer"]);
  assertEquals(analyzeState(r), EXPECTED_STATE);
});

Deno.test("decoder: a vmdesc that does not fit the payload falls back to the footer scan", async () => {
  const s = buildStream({ vmdesc: "none" });
  const json = enc.encode(DESC_JSON.replace('"size":3', '"size":4'));
  const bytes = new Bytes().raw(s.bytes).u8(6).be32(json.length).raw(json).bytes();
  const r = await inspect(bytesInput(bytes));
  const dev = chunks(r)[2];
  assertEquals([dev.incomplete, dev.footer?.heuristic, dev.footer?.offset], [
    true,
    true,
    s.ramEnd - 5,
  ]);
  ok(codes(r).includes("vmsd-mismatch"));
  assertEquals(r.end.complete, true);
  assertEquals(chunks(r)[3].type, "end");
});

Deno.test("decoder: bad magic, commands, unknown PART ids and mismatched footers", async () => {
  const bad = await inspect(bytesInput(new Bytes().be32(0x12345678).be32(3).u8(0).bytes()));
  assertEquals([codes(bad), bad.end.complete], [["undecodable"], false]);
  const v2 = await inspect(bytesInput(new Bytes().be32(0x5145564d).be32(2).bytes()));
  assertEquals(v2.warnings[0].offset, 4);
  const w = new Bytes().be32(0x5145564d).be32(3).u8(7).be32(1).u8(0x78).u8(8).be16(11).be16(0);
  w.u8(2).be32(9).u8(0x7e).be32(9);
  const full = w.at;
  w.u8(4).be32(5).str8("zz").be32(0).be32(1).u8(1, 2).u8(0x7e).be32(5).u8(0x42);
  const footer = w.at;
  w.u8(0x7e).be32(5).u8(0);
  const r = await inspect(bytesInput(w.bytes()));
  assertEquals(r.items[0], {
    type: "command",
    offset: 14,
    cmd: 11,
    length: 0,
    detail: { name: "MIG_CMD_SWITCHOVER_START", fields: {} },
  });
  assertEquals(codes(r), ["unknown-section-id", "no-schema", "no-vmdesc"]);
  assertEquals(chunks(r).map((c) => [c.offset, c.footer?.offset]), [[19, 24], [full, footer]]);
  assertEquals(r.end.complete, true);
  const s = buildStream();
  const m = s.bytes.slice();
  m[s.ramEnd - 1] = 4;
  const mr = await inspect(bytesInput(m));
  assertEquals(mr.warnings.map((x) => [x.code, x.offset]), [["footer-mismatch", s.ramEnd - 5]]);
});

Deno.test("decoder: a 96 MiB stream is walked through a bounded window, never held whole", async () => {
  // header, RAM START with a 96 MiB block, then 24,576 PAGE records (a run of data pages as in
  // a stream of a guest with random memory), EOS, footer, EOF: made piece by piece on demand.
  const pages = 24 * 1024;
  const head = new Bytes().be32(0x5145564d).be32(3)
    .u8(0x01).be32(2).str8("ram").be32(0).be32(4)
    .be64(BigInt(pages * 4096) | 0x4n).str8("pc.ram").be64(BigInt(pages * 4096)).bytes();
  const tail = new Bytes().be64(0x10n).u8(0x7e).be32(2).u8(0x00).bytes();
  const body = new Uint8Array(4096).fill(0x5a);
  function* pieces(): Generator<Uint8Array> {
    yield head;
    for (let p = 0; p < pages; p++) {
      const h = new Bytes().be64(BigInt(p * 4096) | (p === 0 ? 0x8n : 0x28n));
      if (p === 0) h.str8("pc.ram");
      yield h.bytes();
      yield body;
    }
    yield tail;
  }
  // (+ 7: the first record names its block, 1 + 6 bytes)
  const size = head.length + tail.length + pages * (8 + 4096) + 7;
  let widest = 0;
  let delivered = 0;
  const open = () => {
    const gen = pieces();
    let cur: Uint8Array = new Uint8Array(0);
    const source = {
      size,
      read(into: Uint8Array): Promise<number | null> {
        widest = Math.max(widest, into.length);
        while (cur.length === 0) {
          const next = gen.next();
          if (next.done) return Promise.resolve(null);
          cur = next.value;
        }
        const n = Math.min(into.length, cur.length);
        into.set(cur.subarray(0, n));
        cur = cur.subarray(n);
        delivered += n;
        return Promise.resolve(n);
      },
    };
    return Promise.resolve({
      reader: StreamReader.fromSource(source, 256 * 1024),
      close: () => {},
    });
  };
  const result = await inspect({ name: "<generated>", size, open });
  assertEquals(delivered, size);
  assertEquals(result.end, { offset: size, complete: true });
  const ram = chunks(result)[0].ram!;
  assertEquals([ram.dataPages, ram.zeroPages, ram.eos], [pages, 0, true]);
  // Every read filled at most one 256 KiB buffer: the window never grew toward the stream.
  ok(widest <= 256 * 1024, `widest read ${widest}`);
});
