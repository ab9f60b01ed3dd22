/** The buffered writer: big-endian encodings, growth, offsets, flushing to a sink. */
import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { TransportError } from "../../../migration/errors.ts";
import { MemorySink } from "../../../migration/stream/io.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { hex } from "../_helpers.ts";

Deno.test("StreamWriter writes big-endian primitives, counted strings and zeros", () => {
  const w = new StreamWriter(undefined, 4);
  w.u8(0x1ff);
  w.be16(-2);
  w.be32(-1);
  w.be32(0x12345678);
  w.be64(-2n);
  w.be64Parts(0x01020304, 0x05060708);
  w.f64(-0);
  w.str8("ram");
  w.zeros(2);
  w.bytes(new Uint8Array([9]));
  strictEqual(
    hex(w.take()),
    "ff ff fe ff ff ff ff 12 34 56 78 ff ff ff ff ff ff ff fe 01 02 03 04 05 06 07 08 " +
      "80 00 00 00 00 00 00 00 03 72 61 6d 00 00 09",
  );
  strictEqual(w.offset, 42);
});

Deno.test("StreamWriter.str8() refuses names over 255 bytes", () => {
  const w = new StreamWriter();
  w.str8("x".repeat(255));
  throws(() => w.str8("x".repeat(256)), RangeError);
});

Deno.test("StreamWriter flushes to its sink and keeps counting the offset", async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink, 2, 3);
  w.be32(1);
  strictEqual(w.pending, 4);
  await w.maybeFlush();
  strictEqual(w.pending, 0);
  w.u8(2);
  await w.maybeFlush();
  strictEqual(w.pending, 1, "below the threshold nothing is flushed");
  await w.flush();
  strictEqual(w.offset, 5);
  deepStrictEqual([...sink.bytes()], [0, 0, 0, 1, 2]);
});

Deno.test("StreamWriter reports a failing sink as TransportError", async () => {
  const w = new StreamWriter({ write: () => Promise.reject(new Error("EPIPE")) });
  w.u8(1);
  await rejects(w.flush(), (e) => e instanceof TransportError && /EPIPE/.test(e.message));
});

Deno.test("StreamWriter.flushBehind() keeps one write in flight on a buffer it does not touch", async () => {
  const seen: number[][] = [];
  const release: (() => void)[] = [];
  const sink = {
    write(chunk: Uint8Array) {
      const mine = chunk; // not copied: the writer must leave it alone until this settles
      return new Promise<void>((resolve) => {
        release.push(() => {
          seen.push([...mine]);
          resolve();
        });
      });
    },
  };
  const w = new StreamWriter(sink, 4);
  w.be32(0x01010101);
  await w.flushBehind();
  w.be32(0x02020202); // encoded into the second buffer while the first is being written
  strictEqual(w.offset, 8);
  const second = w.flushBehind(); // waits for the first write
  release.shift()!();
  await second;
  w.be32(0x03030303);
  const done = w.flush();
  release.shift()!();
  for (let i = 0; i < 100 && release.length === 0; i++) await Promise.resolve();
  release.shift()!();
  await done;
  deepStrictEqual(seen, [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]);
});

Deno.test("StreamWriter.flushBehind() reports a failed write at the next flush, with its offset", async () => {
  let n = 0;
  const w = new StreamWriter({
    write: () => ++n === 2 ? Promise.reject(new Error("Broken pipe")) : Promise.resolve(),
  });
  w.zeros(10);
  await w.flushBehind();
  w.zeros(5);
  await w.flushBehind();
  w.zeros(1);
  await rejects(
    w.flush(),
    (e) => e instanceof TransportError && e.offset === 10 && /Broken pipe/.test(e.message),
  );
});
