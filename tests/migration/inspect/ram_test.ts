import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { decodeRamChunk, type RamContext } from "../../../migration/inspect/ram.ts";
import { RamFlag } from "../../../migration/sections/constants.ts";
import type { SectionState } from "../../../migration/inspect/model.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import { StreamFormatError, StreamTruncatedError } from "../../../migration/errors.ts";
import { Bytes, PAGE, page } from "./_stream.ts";

function ctx(over: Partial<RamContext> = {}): RamContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    pageSize: PAGE,
    ignoreShared: false,
    dumpMemory: false,
    warn: (c) => warnings.push(c),
    warnings,
    ...over,
  };
}
const state = (): SectionState => ({
  sectionId: 2,
  idstr: "ram",
  instanceId: 0,
  version: 4,
  decoder: "ram",
});
const reader = (b: Bytes) => StreamReader.fromSource(bytesSource(b.bytes(), 1000), 1000);

Deno.test("ram: block list, zero/data pages per block, EOS", async () => {
  const st = state();
  const c = ctx();
  const w = new Bytes().be64(0x3000n | 4n).str8("a").be64(0x2000n).str8("b").be64(0x1000n).be64(
    0x10n,
  );
  assertEquals(await decodeRamChunk(reader(w), st, c), {
    totalSize: 0x3000n,
    zeroPages: 0,
    dataPages: 0,
    xbzrlePages: 0,
    otherPages: 0,
    flushes: 0,
    eos: true,
  });
  const p = new Bytes().be64(2n).str8("a").u8(0).be64(0x1000n | 0x28n).raw(page(3)).be64(
    BigInt(RamFlag.MULTIFD_FLUSH),
  )
    .be64(0x8n).str8("b").raw(page(4)).be64(0x10n);
  const info = await decodeRamChunk(reader(p), st, c);
  assertEquals([info.zeroPages, info.dataPages, info.flushes, info.eos], [1, 2, 1, true]);
  assertEquals(st.blocks?.map((b) => [b.name, b.length, b.zeroPages, b.dataPages]), [[
    "a",
    0x2000n,
    1,
    1,
  ], ["b", 0x1000n, 0, 1]]);
  assertEquals(st.currentBlock, "b");
  assertEquals(c.warnings, []);
});

Deno.test("ram: dump-memory keeps page contents keyed like the script", async () => {
  const st = state();
  const c = ctx({ dumpMemory: true });
  const w = new Bytes().be64(0x2000n | 4n).str8("a").be64(0x2000n).be64(0x10n);
  await decodeRamChunk(reader(w), st, c);
  await decodeRamChunk(
    reader(new Bytes().be64(2n).str8("a").u8(0).be64(0x1028n).raw(page(0)).be64(0x10n)),
    st,
    c,
  );
  const m = [...st.memory!.entries()];
  assertEquals(m[0], ["a (0x0000000000000000)", "Filled with 0x00"]);
  assertEquals(m[1][0], "a (0x0000000000001000)");
  assertEquals(m[1][1].slice(0, 11), "00 01 02 03");
});

Deno.test("ram: sink receives block list and pages; out-of-range pages are warned", async () => {
  const calls: string[] = [];
  const c = ctx({
    sink: {
      blocks: (l) => Promise.resolve(void calls.push(`blocks ${l.map((b) => b.name)}`)),
      page: (b, a, d) => Promise.resolve(void calls.push(`page ${b} ${a} ${d[1]}`)),
      fill: (b, a, f) => Promise.resolve(void calls.push(`fill ${b} ${a} ${f}`)),
    },
  });
  const w = new Bytes().be64(0x1000n | 4n).str8("a").be64(0x1000n).be64(0x10n)
    .be64(0x2n).str8("a").u8(9).be64(0x8n | 0x20n).raw(page(5)).be64(0x1008n).str8("a").raw(page(5))
    .be64(0x8n).str8("zz").raw(page(5)).be64(0x10n);
  const st = state();
  const r = reader(w);
  await decodeRamChunk(r, st, c);
  await decodeRamChunk(r, st, c);
  assertEquals(r.offset, w.at);
  assertEquals(calls, ["blocks a", "fill a 0 9", "page a 0 6"]);
  assertEquals(c.warnings, ["ram-offset", "ram-unknown-block"]);
});

Deno.test("ram: XBZRLE and compressed pages are skipped and counted; bad records are errors", async () => {
  const st = state();
  st.blocks = [{
    name: "a",
    length: 0x2000n,
    offset: 0,
    zeroPages: 0,
    dataPages: 0,
    xbzrlePages: 0,
    otherPages: 0,
  }];
  const w = new Bytes().be64(0x40n).str8("a").u8(1).be16(3).u8(1, 2, 3).be64(0x1120n).be32(2).u8(
    0,
    0,
  ).be64(0x10n);
  const info = await decodeRamChunk(reader(w), st, ctx());
  assertEquals([info.xbzrlePages, st.blocks![0].xbzrlePages], [1, 1]);
  assertEquals([info.otherPages, st.blocks![0].otherPages], [1, 1]);
  await rejects(decodeRamChunk(reader(new Bytes().be64(0x28n)), state(), ctx()), StreamFormatError);
  await rejects(decodeRamChunk(reader(new Bytes().be64(0x80n)), st, ctx()), StreamFormatError);
  await rejects(
    decodeRamChunk(reader(new Bytes().be64(0x401n << 0n | 0x400n)), st, ctx({ pageSize: 0x1000 })),
    StreamFormatError,
  );
  await rejects(
    decodeRamChunk(
      reader(new Bytes().be64(0x8n).str8("a").raw(page(0).subarray(0, 100))),
      st,
      ctx(),
    ),
    StreamTruncatedError,
  );
});

Deno.test("ram: block list shorter than its total is warned about", async () => {
  const c = ctx();
  await decodeRamChunk(
    reader(new Bytes().be64(0x3000n | 4n).str8("a").be64(0x1000n).be64(0x10n)),
    state(),
    c,
  );
  assertEquals(c.warnings, ["ram-block-list"]);
});

Deno.test("ram: XBZRLE deltas are warned about once and applied to the earlier page in -m", async () => {
  const st = state();
  st.blocks = [{
    name: "a",
    length: 0x2000n,
    offset: 0,
    zeroPages: 0,
    dataPages: 0,
    xbzrlePages: 0,
    otherPages: 0,
  }];
  const c = ctx({ dumpMemory: true });
  // page 0 sent whole, then two deltas: byte 4 := 0xaa, then bytes 0..1 := 0x11 0x22
  const w = new Bytes().be64(0x08n).str8("a").raw(page(0)).be64(0x60n).u8(1).be16(3).u8(4, 1, 0xaa)
    .be64(0x60n).u8(1).be16(4).u8(0, 2, 0x11, 0x22)
    .be64(0x1040n).str8("a").u8(1).be16(3).u8(0, 1, 0x33).be64(0x10n);
  await decodeRamChunk(reader(w), st, c);
  assertEquals(c.warnings, ["xbzrle"]);
  const want = page(0).slice();
  want[4] = 0xaa;
  want[0] = 0x11;
  want[1] = 0x22;
  const hex = [...want].map((v) => v.toString(16).padStart(2, "0")).join(" ");
  assertEquals(st.memory!.get("a (0x0000000000000000)"), hex);
  assertEquals(
    st.memory!.get("a (0x0000000000001000)"),
    "XBZRLE delta of 3 bytes for a page not sent before",
  );
  assertEquals(st.blocks[0].xbzrlePages, 3);
});

/** A chunk of CONTINUE runs with a bad offset and an unknown block in the middle of them. */
function runs(): Bytes {
  const w = new Bytes().be64(0x10000n | 4n).str8("a").be64(0x10000n);
  w.be64(0x2n).str8("a").u8(0); // named ZERO page 0
  for (let p = 1; p < 6; p++) w.be64(BigInt(p * PAGE) | 0x22n).u8(p === 3 ? 7 : 0);
  w.be64(6n * 4096n | 0x28n).raw(page(6)).be64(7n * 4096n | 0x28n).raw(page(7));
  w.be64(0x20000n | 0x22n).u8(0); // out of the block: warned
  w.be64(8n * 4096n | 0x22n).u8(0);
  w.be64(0x8n).str8("a").raw(page(9)); // named again: same block
  w.be64(0x2n).str8("b").u8(0).be64(0x1000n | 0x22n).u8(0); // unknown block
  w.be64(0x2n).str8("a").u8(0).be64(BigInt(RamFlag.MULTIFD_FLUSH)).be64(0x10n);
  return w;
}

Deno.test("ram: CONTINUE runs count the same through every refill size, warnings included", async () => {
  const bytes = runs().bytes();
  let first: unknown;
  for (const chunk of [1, 7, 9, 17, 100, 4105, 4113, bytes.length]) {
    const st = state();
    const c = ctx();
    const r = StreamReader.fromSource(bytesSource(bytes, chunk), Math.max(chunk, 64));
    const info = await decodeRamChunk(r, st, c);
    const seen = {
      info,
      blocks: st.blocks?.map((b) => [b.name, b.zeroPages, b.dataPages]),
      current: st.currentBlock,
      warnings: c.warnings,
      end: r.offset,
    };
    first ??= seen;
    assertEquals(seen, first, `chunk ${chunk}`);
  }
  assertEquals(first, {
    info: {
      totalSize: 0x10000n,
      zeroPages: 11,
      dataPages: 3,
      xbzrlePages: 0,
      otherPages: 0,
      flushes: 1,
      eos: true,
    },
    blocks: [["a", 9, 3]],
    current: "a",
    warnings: ["ram-offset", "ram-unknown-block"],
    end: bytes.length,
  });
});

Deno.test("ram: a run cut anywhere is the same typed truncation whatever the refill size", async () => {
  const bytes = runs().bytes();
  for (let cut = 20; cut < bytes.length; cut += 97) {
    const part = bytes.subarray(0, cut);
    const errors = [];
    for (const chunk of [1, 13, part.length]) {
      const r = StreamReader.fromSource(bytesSource(part, chunk), Math.max(chunk, 64));
      const e = await decodeRamChunk(r, state(), ctx()).then(() => undefined, (e) => e);
      if (!(e instanceof StreamTruncatedError)) throw new Error(`cut ${cut}: ${e}`);
      errors.push([e.offset, e.needed]);
    }
    assertEquals(errors[1], errors[0], `cut ${cut}`);
    assertEquals(errors[2], errors[0], `cut ${cut}`);
  }
});

Deno.test("ram: pages are counted into the block list's lengths after they change", async () => {
  const st = state();
  const c = ctx();
  const r = reader(
    new Bytes().be64(0x1000n | 4n).str8("a").be64(0x1000n).be64(0x2n).str8("a").u8(0)
      .be64(0x1000n | 0x22n).u8(0) // beyond a 1-page block: warned
      .be64(0x2000n | 4n).str8("a").be64(0x2000n)
      .be64(0x1000n | 0x22n).u8(0) // now in bounds
      .be64(0x10n),
  );
  await decodeRamChunk(r, st, c);
  assertEquals(c.warnings, ["ram-offset"]);
  assertEquals(st.blocks?.[0].zeroPages, 3);
});
