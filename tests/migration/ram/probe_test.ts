/** probeRamLayout(): the RAM size a stream announces, read without loading it. */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { StreamFormatError } from "../../../migration/errors.ts";
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
