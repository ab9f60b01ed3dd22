/**
 * The base snapshots of the fuzz tests: the demo guest on a 16 MiB machine (the size the
 * throughput figures use), made once per test file.
 */
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import type { ByteSource } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

let cached: Uint8Array | undefined;

/** The demo guest after 1M instructions, with 16 MiB of RAM. */
export async function demoBase(): Promise<Uint8Array> {
  if (!cached) {
    const m = new VirtMachine({ ramSize: 16 << 20 });
    m.boot(await Deno.readFile(DEFAULT_GUEST));
    m.run(1_000_000);
    const w = new StreamWriter();
    await m.save(w);
    cached = w.take();
  }
  return cached;
}

/** The bytes a case loads, whether it comes as bytes or as a source. */
export async function bytesOf(input: Uint8Array | ByteSource): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input.slice();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(65536);
    const n = await input.read(buf);
    if (n === null) break;
    chunks.push(buf.subarray(0, n));
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
