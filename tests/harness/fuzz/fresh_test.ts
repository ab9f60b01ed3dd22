import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { CaseMaker } from "../../../harness/fuzz/cases.ts";
import { ReusableMachine } from "../../../harness/fuzz/fresh.ts";
import { installImage, type RamPreload } from "../../../harness/fuzz/preload.ts";
import { plainMachine } from "../../../harness/replay/fork.ts";
import {
  compareMachines,
  diffValues,
  type StateDifference,
} from "../../../harness/replay/state_diff.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { bytesOf, demoBase } from "./_base.ts";

/**
 * Every record, the hart, RAM and RAM's bookkeeping equal a brand-new machine's (one given
 * `image`, when the machine holds one between pre-loaded cases).
 */
function assertFresh(m: VirtMachine, image?: RamPreload): void {
  const fresh = new VirtMachine({ ramSize: m.ram.size });
  if (image) installImage(image, fresh.ram);
  const d: StateDifference[] = [];
  m.registry.entries.forEach((e, i) => {
    if (e.state) diffValues(e.idstr, "", fresh.registry.entries[i].state!(), e.state(), d);
  });
  diffValues("hart", "", fresh.cpu.state, m.cpu.state, d);
  deepStrictEqual(d, []);
  deepStrictEqual(compareMachines(fresh, m).pages, []);
  deepStrictEqual(m.ram.written, fresh.ram.written);
  ok(m.ram.dirty.every((w) => w === 0));
  strictEqual(m.consoleText, "");
  strictEqual(m.exitCode, undefined);
}

Deno.test("after loads, runs and rejections the reusable machine is exactly a new one", async () => {
  const base = await demoBase();
  const maker = await CaseMaker.create(base);
  const rm = new ReusableMachine(plainMachine, { ramSize: 16 << 20 });
  assertFresh(rm.machine);
  for (let i = 0; i < 40; i++) {
    const c = await maker.make(3, i);
    try {
      await rm.machine.load(StreamReader.fromBytes(await bytesOf(c.input)));
      rm.machine.run(20_000);
    } catch { /* rejected: nothing to undo but RAM pages a rollback restored */ }
    rm.restore();
    assertFresh(rm.machine);
  }
});

Deno.test("a machine reset after a case runs the next case exactly as a new machine would", async () => {
  const base = await demoBase();
  const rm = new ReusableMachine(plainMachine, { ramSize: 16 << 20 });
  await rm.machine.load(StreamReader.fromBytes(base));
  rm.machine.run(50_000);
  rm.restore();
  const fresh = new VirtMachine({ ramSize: 16 << 20 });
  for (const m of [rm.machine, fresh]) {
    await m.load(StreamReader.fromBytes(base));
    m.run(200_000);
  }
  strictEqual(compareMachines(fresh, rm.machine).equal, true);
  strictEqual(rm.machine.consoleText, fresh.consoleText);
});

Deno.test("the reset templates' shared disk is never written through", async () => {
  const base = await demoBase();
  const rm = new ReusableMachine(plainMachine, { ramSize: 16 << 20 });
  for (let i = 0; i < 3; i++) {
    await rm.machine.load(StreamReader.fromBytes(base));
    rm.machine.nvme.disk.fill(0xee);
    rm.restore();
    ok(rm.machine.nvme.disk.every((b) => b === 0));
  }
  const nvme = rm.resetRecords().find((r) => r.entry.idstr === "snapshell-nvme")!;
  ok((nvme.record.disk as Uint8Array).every((b) => b === 0));
});

Deno.test("between pre-loaded cases the machine is exactly a new one holding the image", async () => {
  const base = await demoBase();
  const maker = await CaseMaker.create(base);
  const plan = maker.preload!;
  const rm = new ReusableMachine(plainMachine, { ramSize: 16 << 20 });
  let preloaded = 0, accepted = 0;
  for (let i = 0; i < 60; i++) {
    const c = await maker.make(5, i);
    const image = c.ramPreloaded ? plan : undefined;
    rm.useImage(image);
    assertFresh(rm.machine, image);
    try {
      await rm.machine.load(StreamReader.fromBytes(await bytesOf(c.input)));
      accepted++;
      rm.machine.run(20_000);
    } catch { /* rejected */ }
    if (c.ramPreloaded) preloaded++;
    rm.restore();
    assertFresh(rm.machine, image);
  }
  ok(preloaded > 20 && accepted > 5, `${preloaded} pre-loaded, ${accepted} accepted`);
  rm.useImage(undefined);
  assertFresh(rm.machine);
});

Deno.test("after a case that writes RAM and devices, the unmodified pre-loaded base loads as in a new machine", async () => {
  const base = await demoBase();
  const maker = await CaseMaker.create(base);
  const rm = new ReusableMachine(plainMachine, { ramSize: 16 << 20 });
  rm.useImage(maker.preload);
  const { input } = maker.unmodified();
  await rm.machine.load(StreamReader.fromBytes(input));
  rm.machine.run(50_000); // the guest writes RAM and programs devices
  rm.machine.ram.write(rm.machine.ram.base + 0x1000, new Uint8Array([1, 2, 3])); // and DMA
  rm.machine.nvme.disk.fill(0xee);
  ok(rm.machine.ram.dirty.some((w) => w !== 0));
  rm.restore();
  const fresh = new VirtMachine({ ramSize: 16 << 20 });
  await rm.machine.load(StreamReader.fromBytes(input));
  await fresh.load(StreamReader.fromBytes(base));
  strictEqual(compareMachines(fresh, rm.machine).equal, true);
  deepStrictEqual(rm.machine.ram.written, fresh.ram.written);
  for (const m of [rm.machine, fresh]) m.run(200_000);
  strictEqual(compareMachines(fresh, rm.machine).equal, true);
  strictEqual(rm.machine.consoleText, fresh.consoleText);
});
