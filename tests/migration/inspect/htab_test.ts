import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { decodeHtabChunk } from "../../../migration/inspect/htab.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamTruncatedError } from "../../../migration/errors.ts";
import { Bytes } from "./_stream.ts";

Deno.test("htab: first chunk (hash shift) and no-HPT chunks are just a header", async () => {
  for (const h of [18, -1]) {
    const r = StreamReader.fromBytes(new Bytes().be32(h >>> 0).u8(0x7e).bytes());
    assertEquals(await decodeHtabChunk(r), { ptes: 0 });
    assertEquals(r.offset, 4);
  }
});

Deno.test("htab: runs of PTEs until the all-zero run header", async () => {
  const w = new Bytes().be32(0).be32(5).be16(2).be16(1).raw(new Uint8Array(32)).be32(9).be16(0)
    .be16(3)
    .be32(0).be16(0).be16(0);
  const r = StreamReader.fromBytes(w.bytes());
  assertEquals(await decodeHtabChunk(r), { ptes: 2 });
  assertEquals(r.offset, w.at);
  await rejects(
    decodeHtabChunk(StreamReader.fromBytes(w.bytes().subarray(0, 20))),
    StreamTruncatedError,
  );
});
