/**
 * Streams for the corrupt tests: a snapshot of the demo guest (every device busy, NVMe queues
 * created, UART configured) made once per test file, and QEMU 7.2's own stream.
 */
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

/** RAM of the test snapshot: small, so tests stay fast. */
export const TEST_RAM = 4 << 20;

let cached: Uint8Array | undefined;

/** The demo guest after 1M instructions, saved with 4 MiB of RAM. */
export async function demoSnapshot(): Promise<Uint8Array> {
  if (!cached) {
    const m = new VirtMachine({ ramSize: TEST_RAM });
    m.boot(await Deno.readFile(DEFAULT_GUEST));
    m.run(1_000_000);
    const w = new StreamWriter();
    await m.save(w);
    cached = w.take();
  }
  return cached;
}

/** QEMU 7.2's stream of a running virt machine. */
export function qemuStream(): Promise<Uint8Array> {
  return Deno.readFile(new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url));
}

/** Load `bytes` into a fresh machine of the test size: undefined when accepted, else the error. */
export async function loadError(bytes: Uint8Array): Promise<Error | undefined> {
  const m = new VirtMachine({ ramSize: TEST_RAM });
  try {
    await m.load(StreamReader.fromBytes(bytes));
    return undefined;
  } catch (e) {
    return e as Error;
  }
}
