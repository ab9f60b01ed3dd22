/**
 * Shared pieces of the wire tests: the demo guest's stream (every device busy) and QEMU 7.2's,
 * and a destination receiving one migration in this process, as `incoming` does.
 * @module
 */
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import { receiveMigration } from "../../../harness/migration/incoming.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

/** RAM of the test machines: small, so the tests stay fast. */
export const TEST_RAM = 4 << 20;

let cached: Uint8Array | undefined;

/** The demo guest after 1M instructions, saved with 4 MiB of RAM. */
export async function demoStream(): Promise<Uint8Array> {
  if (!cached) cached = await saveToBytes(await demoMachine());
  return cached;
}

/** The demo guest booted and run 1M instructions. */
export async function demoMachine(): Promise<VirtMachine> {
  const m = new VirtMachine({ ramSize: TEST_RAM });
  m.boot(await Deno.readFile(DEFAULT_GUEST));
  m.run(1_000_000);
  return m;
}

/** A machine's stream in memory. */
export async function saveToBytes(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

/** QEMU 7.2's stream of a running virt machine. */
export function qemuStream(): Promise<Uint8Array> {
  return Deno.readFile(new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url));
}

/** How a destination ended: the loaded machine, or the error it refused the stream with. */
export type Received = { machine: VirtMachine; error?: undefined } | { error: Error };

/** A destination listening on a loopback port for one migration (as `incoming` does). */
export async function destination(
  opts: { timeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<{ port: number; received: Promise<Received> }> {
  let listening!: (port: number) => void;
  const port = new Promise<number>((resolve) => listening = resolve);
  const received = receiveMigration(
    { kind: "tcp", host: "127.0.0.1", port: 0 },
    (ram) => new VirtMachine({ ramSize: ram ?? TEST_RAM }),
    {
      timeoutMs: opts.timeoutMs ?? 20_000,
      idleTimeoutMs: opts.idleTimeoutMs,
      onListening: (uri) => listening(Number(uri.slice(uri.lastIndexOf(":") + 1))),
    },
  ).then((r) => ({ machine: r.machine }), (error: Error) => ({ error }));
  return { port: await port, received };
}
