/** Adapters between sources/sinks and files, web streams and memory. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  bytesSource,
  fileSink,
  fileSource,
  MemorySink,
  readableSource,
  writableSink,
} from "../../../migration/stream/io.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { b } from "../_helpers.ts";

Deno.test("bytesSource() delivers at most `chunk` bytes per read, then null", async () => {
  const src = bytesSource(b(1, 2, 3, 4, 5), 2);
  strictEqual(src.size, 5);
  const into = new Uint8Array(10);
  strictEqual(await src.read(into), 2);
  strictEqual(await src.read(into), 2);
  strictEqual(await src.read(into), 1);
  strictEqual(into[0], 5);
  strictEqual(await src.read(into), null);
});

Deno.test("readableSource() and writableSink() carry bytes through web streams", async () => {
  const chunks: Uint8Array[] = [];
  const sink = writableSink(new WritableStream({ write: (c) => void chunks.push(c) }));
  const buf = b(1, 2, 3);
  await sink.write(buf);
  buf[0] = 9;
  deepStrictEqual([...chunks[0]], [1, 2, 3], "the sink copies the reused chunk");
  const r = StreamReader.fromSource(
    readableSource(ReadableStream.from([b(0, 0), b(1, 0), b(2)])),
    1,
  );
  strictEqual(await r.retrying(() => r.be32()), 0x100);
  strictEqual(await r.retrying(() => r.u8()), 2);
  strictEqual(await r.retrying(() => r.peekU8()), undefined);
});

Deno.test("fileSink() and fileSource() write and read back a file", async () => {
  const path = await Deno.makeTempFile();
  try {
    const out = await Deno.open(path, { write: true });
    await fileSink(out).write(b("QEVM", 0, 0, 0, 3));
    out.close();
    const f = await Deno.open(path);
    const r = StreamReader.fromSource(fileSource(f, 8));
    strictEqual(await r.retrying(() => r.be32()), 0x5145564d);
    strictEqual(r.remaining, 4);
    f.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("MemorySink keeps copies of what was written", async () => {
  const s = new MemorySink();
  const chunk = b(1, 2);
  await s.write(chunk);
  chunk[0] = 7;
  await s.write(chunk);
  deepStrictEqual([...s.bytes()], [1, 2, 7, 2]);
});
