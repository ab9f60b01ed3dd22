import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CAPABILITIES } from "../../../migration/extensions/capabilities.ts";
import { streamOptionsFor } from "../../../migration/extensions/stream_options.ts";
import { QEMU_MANIFEST, SNAPSHELL_MANIFEST } from "../../../migration/extensions/versioning.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import { hex } from "../_helpers.ts";

Deno.test("streamOptionsFor() gives saves and loads the capabilities and this side's manifest", () => {
  const o = streamOptionsFor(new Set(["x-vmsd-markers"]));
  deepStrictEqual(o.save, { capabilities: ["x-vmsd-markers"], manifest: SNAPSHELL_MANIFEST });
  deepStrictEqual(o.load, { capabilities: ["x-vmsd-markers"], manifest: SNAPSHELL_MANIFEST });
  strictEqual(streamOptionsFor([], QEMU_MANIFEST).save.manifest, QEMU_MANIFEST);
});

const elf = await Deno.readFile(DEFAULT_GUEST);
function demo(): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(elf);
  m.run(200_000);
  m.sendInput("q");
  return m;
}
async function saved(m: VirtMachine, caps: string[]): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w, streamOptionsFor(caps).save);
  return w.take();
}

Deno.test("with no capability on, the default machine's stream is exactly what it was", async () => {
  const m = demo();
  const w = new StreamWriter();
  await m.save(w);
  strictEqual(hex(await saved(m, [])), hex(w.take()));
});

const sets = [
  ...CAPABILITIES.filter((c) => c.recorded).map((c) => [c.name]),
  CAPABILITIES.map((c) => c.name),
];
for (const caps of sets) {
  Deno.test(`the default machine round-trips with ${caps.join(" + ")}`, async () => {
    const m = demo();
    const bytes = await saved(m, caps);
    const fresh = new VirtMachine({ ramSize: 16 << 20 });
    await fresh.load(StreamReader.fromBytes(bytes), streamOptionsFor(caps).load);
    strictEqual(hex(await saved(fresh, caps)), hex(bytes), "the loaded machine saves the same");
    strictEqual(fresh.cpu.state.pc, m.cpu.state.pc);
  });
}

Deno.test("a machine's streamDefaults apply to saves and loads that pass no options", async () => {
  const m = demo();
  m.streamDefaults = () => streamOptionsFor(["x-self-describing"]);
  const w = new StreamWriter();
  await m.save(w);
  const bytes = w.take();
  strictEqual(hex(bytes), hex(await saved(m, ["x-self-describing"])));
  const fresh = new VirtMachine({ ramSize: 16 << 20 });
  const report = await fresh.load(StreamReader.fromBytes(bytes));
  strictEqual(report.extensions?.selfDescribing, true);
});
