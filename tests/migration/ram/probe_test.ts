/** probeRamLayout(): the RAM size a stream announces, read without loading it. */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { IncompatibleError, StreamFormatError } from "../../../migration/errors.ts";
import { probeRamLayout } from "../../../migration/ram/probe.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

Deno.test("probeRamLayout() reads QEMU 7.2's block list from a fixture, byte by byte too", async () => {
  const bytes = await Deno.readFile(
    new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url),
  );
  const expected = {
    total: 0x500f000,
    blocks: [
      { idstr: "virt.flash0", length: 0x2000000 },
      { idstr: "virt.flash1", length: 0x2000000 },
      { idstr: "riscv_virt_board.ram", length: 0x1000000 },
      { idstr: "riscv_virt_board.mrom", length: 0xf000 },
    ],
  };
  deepStrictEqual(await probeRamLayout(StreamReader.fromBytes(bytes)), expected);
  deepStrictEqual(
    await probeRamLayout(StreamReader.fromSource(bytesSource(bytes, 1), 16)),
    expected,
  );
});

Deno.test("probeRamLayout() finds our machine's RAM size, and rejects a non-stream", async () => {
  const m = new VirtMachine({ ramSize: 3 << 20 });
  const w = new StreamWriter();
  await m.save(w);
  strictEqual((await probeRamLayout(StreamReader.fromBytes(w.take())))?.total, 3 << 20);
  await rejects(
    probeRamLayout(StreamReader.fromBytes(new TextEncoder().encode("not a stream at all"))),
    StreamFormatError,
  );
});

/** A stream whose `ram` START announces `total` bytes in its one block (the rest as saved). */
async function announcing(total: bigint): Promise<Uint8Array> {
  const m = new VirtMachine({ ramSize: 64 << 10 });
  const w = new StreamWriter();
  await m.save(w);
  const bytes = w.take();
  const view = new DataView(bytes.buffer);
  // The MEM_SIZE header: be64 total | RAM_SAVE_FLAG_MEM_SIZE (4), then str8 idstr, be64 length.
  let at = 0;
  while (view.getBigUint64(at) !== BigInt(64 << 10) + 4n) at++;
  view.setBigUint64(at, total + 4n);
  const idLen = bytes[at + 8];
  view.setBigUint64(at + 9 + idLen, total);
  return bytes;
}

Deno.test("probeRamLayout() reads a 2 GiB total as 2 GiB (unsigned), not -2 GiB", async () => {
  const layout = await probeRamLayout(StreamReader.fromBytes(await announcing(1n << 31n)));
  strictEqual(layout?.total, 2 ** 31);
  strictEqual(layout?.blocks[0].length, 2 ** 31);
  const big = await probeRamLayout(StreamReader.fromBytes(await announcing(3n << 31n)));
  strictEqual(big?.total, 3 * 2 ** 31);
});

Deno.test("probeRamLayout() refuses a total no machine can have as an incompatible error", async () => {
  for (const total of [0n, 1n << 62n, 3n << 31n]) {
    await rejects(
      probeRamLayout(StreamReader.fromBytes(await announcing(total)), 2 ** 31),
      (e) => e instanceof IncompatibleError && e.kind === "incompatible" && e.section === "ram",
      `total ${total}`,
    );
  }
});
