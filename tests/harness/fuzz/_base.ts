/**
 * The base snapshots of the fuzz tests: the demo guest on a 16 MiB machine (the size the
 * throughput figures use), made once per test file.
 */
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
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
