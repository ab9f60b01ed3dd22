import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CAPABILITIES } from "../../../migration/extensions/capabilities.ts";
import { streamOptionsFor } from "../../../migration/extensions/stream_options.ts";
import { QEMU_MANIFEST, SNAPSHELL_MANIFEST } from "../../../migration/extensions/versioning.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";

/** Index of the first differing byte, or -1 (cheaper than comparing hex of a 1 MiB stream). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

Deno.test("streamOptionsFor() gives saves and loads the capabilities and this side's manifest", () => {
  const o = streamOptionsFor(new Set(["x-vmsd-markers"]));
  deepStrictEqual(o.save, { capabilities: ["x-vmsd-markers"], manifest: SNAPSHELL_MANIFEST });
  deepStrictEqual(o.load, { capabilities: ["x-vmsd-markers"], manifest: SNAPSHELL_MANIFEST });
  strictEqual(streamOptionsFor([], QEMU_MANIFEST).save.manifest, QEMU_MANIFEST);
});

// One demo machine for every test here: saving does not change it.
const machine = new VirtMachine({ ramSize: 16 << 20 });
machine.boot(await Deno.readFile(DEFAULT_GUEST));
machine.run(200_000);
machine.sendInput("q");
const demo = () => machine;
async function saved(m: VirtMachine, caps: string[]): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w, streamOptionsFor(caps).save);
  return w.take();
}

Deno.test("with no capability on, the default machine's stream is exactly what it was", async () => {
  const m = demo();
  const w = new StreamWriter();
  await m.save(w);
  strictEqual(firstDifference(await saved(m, []), w.take()), -1);
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
    strictEqual(
      firstDifference(await saved(fresh, caps), bytes),
      -1,
      "the loaded machine saves the same",
    );
    strictEqual(fresh.cpu.state.pc, m.cpu.state.pc);
  });
}

Deno.test("a machine's streamDefaults apply to saves and loads that pass no options", async () => {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(DEFAULT_GUEST));
  m.streamDefaults = () => streamOptionsFor(["x-self-describing"]);
  const w = new StreamWriter();
  await m.save(w);
  const bytes = w.take();
  strictEqual(firstDifference(bytes, await saved(m, ["x-self-describing"])), -1);
  const fresh = new VirtMachine({ ramSize: 16 << 20 });
  const report = await fresh.load(StreamReader.fromBytes(bytes));
  strictEqual(report.extensions?.selfDescribing, true);
});
