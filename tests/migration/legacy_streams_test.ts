import { deepStrictEqual, notStrictEqual, ok } from "node:assert/strict";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { LEGACY_STREAMS, legacyMachine } from "./_legacy.ts";

const read = (file: string) =>
  Deno.readFileSync(new URL(`../fixtures/legacy/${file}`, import.meta.url));

for (const s of LEGACY_STREAMS) {
  Deno.test(`legacy stream ${s.file} loads and saves back byte for byte`, async () => {
    const bytes = read(s.file);
    const m = legacyMachine();
    const report = await m.load(StreamReader.fromBytes(bytes));
    deepStrictEqual(report.bytes, bytes.length);
    if (s.insns > 0) notStrictEqual(m.cpu.state.pc, 0x8000_0000, "the hart moved on");
    const w = new StreamWriter();
    await m.save(w, { capabilities: s.capabilities });
    const again = w.take();
    ok(again.length === bytes.length, `${again.length} bytes saved, ${bytes.length} loaded`);
    deepStrictEqual(again, bytes);
  });
}
