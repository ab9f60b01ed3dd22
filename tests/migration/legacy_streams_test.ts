import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { LEGACY_STREAMS, legacyMachine, withQemuCpuConstants } from "./_legacy.ts";

const read = (file: string) =>
  Deno.readFileSync(new URL(`../fixtures/legacy/${file}`, import.meta.url));

const diffCount = (a: Uint8Array, b: Uint8Array) =>
  a.reduce((n, x, i) => n + (x !== b[i] ? 1 : 0), 0);

for (const s of LEGACY_STREAMS) {
  Deno.test(`legacy stream ${s.file} loads and saves back byte for byte (QEMU's cpu constants)`, async () => {
    const bytes = read(s.file);
    const m = legacyMachine();
    const report = await m.load(StreamReader.fromBytes(bytes));
    deepStrictEqual(report.bytes, bytes.length);
    if (s.insns > 0) notStrictEqual(m.cpu.state.pc, 0x8000_0000, "the hart moved on");
    const w = new StreamWriter();
    await m.save(w, { capabilities: s.capabilities });
    const again = w.take();
    ok(again.length === bytes.length, `${again.length} bytes saved, ${bytes.length} loaded`);
    // Byte for byte, but for the three cpu constants S mode made QEMU 7.2's (see _legacy.ts).
    const expected = withQemuCpuConstants(bytes);
    strictEqual(diffCount(expected, bytes), 7, "exactly the constants' bytes changed");
    deepStrictEqual(again, expected);
  });
}
