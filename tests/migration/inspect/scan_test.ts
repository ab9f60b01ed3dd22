import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { plausibleFooter, scanToFooter } from "../../../migration/inspect/scan.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import { buildStream, Bytes } from "./_stream.ts";

Deno.test("scan: finds the footer of a FULL section followed by a plausible next item", async () => {
  const s = buildStream();
  for (const chunk of [1, 7, 1 << 20]) {
    const r = StreamReader.fromSource(bytesSource(s.bytes, chunk), 16);
    await r.ensure(s.devPayload);
    r.skip(s.devPayload);
    assertEquals(await scanToFooter(r, 3, new Set([2, 3])), true);
    assertEquals(r.offset, s.ramEnd - 5);
  }
});

Deno.test("scan: payload bytes that look like a footer but are not followed by an item are skipped", async () => {
  const w = new Bytes().u8(0x7e).be32(3).u8(0x42).u8(0x7e).be32(3).u8(0x01).be32(9).str8("\u0001x")
    .u8(0x7e).be32(3).u8(0x02).be32(99).u8(0x7e).be32(3).u8(0x00, 0x07);
  const footer = w.at;
  w.u8(0x7e).be32(3).u8(0x03).be32(2);
  const r = StreamReader.fromBytes(w.bytes());
  assertEquals(await scanToFooter(r, 3, new Set([2, 3])), true);
  assertEquals(r.offset, footer);
});

Deno.test("scan: verdicts at the end of the data", () => {
  const f = new Bytes().u8(0x7e).be32(1).bytes();
  assertEquals(plausibleFooter(f, 0, 1, new Set(), true), "yes");
  assertEquals(plausibleFooter(f, 0, 1, new Set(), false), "more");
  assertEquals(plausibleFooter(f, 0, 2, new Set(), true), "no");
  assertEquals(
    plausibleFooter(new Bytes().u8(0x7e).be32(1).u8(0).bytes(), 0, 1, new Set(), true),
    "yes",
  );
  assertEquals(
    plausibleFooter(
      new Bytes().u8(0x7e).be32(1).u8(8).be16(2).be16(4).bytes(),
      0,
      1,
      new Set(),
      true,
    ),
    "yes",
  );
});

Deno.test("scan: no footer before the end consumes everything", async () => {
  const r = StreamReader.fromBytes(new Uint8Array(100).fill(0x7e));
  assertEquals(await scanToFooter(r, 3, new Set()), false);
  assertEquals(r.atEnd, true);
});

Deno.test("scan: with a window of 1 it decides on the bytes there, never waiting for more", async () => {
  // A live stream: the footer and the next section's header have arrived, nothing else yet.
  const w = new Bytes().u8(0x01, 0x02, 0x03);
  const footer = w.at;
  w.u8(0x7e).be32(3).u8(0x04).be32(4).str8("serial").be32(0).be32(4);
  const arrived = w.bytes();
  let reads = 0;
  const live = {
    read(into: Uint8Array): Promise<number | null> {
      if (reads++ > 0) return Promise.resolve(null); // asking again would wait on a live source
      into.set(arrived);
      return Promise.resolve(arrived.length);
    },
  };
  const r = StreamReader.fromSource(live, 16);
  assertEquals(await scanToFooter(r, 3, new Set([3]), 1), true);
  assertEquals([r.offset, reads], [footer, 1]);
});
