/** Fuzz transports: bytes go through a real socket or FIFO, unsized; an early close never hangs. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { bytesSource } from "../../../migration/stream/io.ts";
import { ViaTransport } from "../../../harness/fuzz/via.ts";

async function readAll(source: { read(into: Uint8Array): Promise<number | null> }) {
  const out: number[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await source.read(buf);
    if (n === null) return new Uint8Array(out);
    out.push(...buf.subarray(0, n));
  }
}

for (const via of ["tcp", "pipe"] as const) {
  Deno.test(`${via}: bytes and sources arrive whole, with no size, case after case`, async () => {
    const t = await ViaTransport.open(via);
    try {
      const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 255);
      for (const input of [bytes, bytesSource(bytes, 1000)]) {
        const s = await t.send(input);
        strictEqual(s.source.size, undefined);
        deepStrictEqual(await readAll(s.source), bytes);
        await s.close();
      }
    } finally {
      await t.close();
    }
  });

  Deno.test(`${via}: closing before reading everything ends the writer (a rejection half-way)`, async () => {
    const t = await ViaTransport.open(via);
    try {
      const s = await t.send(new Uint8Array(4 << 20));
      const buf = new Uint8Array(100);
      strictEqual(typeof (await s.source.read(buf)), "number");
      await s.close();
    } finally {
      await t.close();
    }
  });
}
