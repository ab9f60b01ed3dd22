import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  createPlicState,
  SifivePlic,
  vmstateSifivePlic,
} from "../../../emu/devices/sifive_plic.ts";
import {
  assertRejected,
  assertVmdescMatchesQemu,
  irqProbe,
  loadDeviceStream,
  loadQemuSection,
  roundTrip,
  saveDeviceStream,
} from "./_helpers.ts";

const PRIO = (irq: number) => 4 * irq;
const ENABLE = (ctx: number) => 0x2000 + 0x80 * ctx;
const THRESHOLD = (ctx: number) => 0x200000 + 0x1000 * ctx;
const CLAIM = (ctx: number) => THRESHOLD(ctx) + 4;

function setup() {
  const meip = irqProbe();
  const seip = irqProbe();
  const plic = new SifivePlic({ contexts: [meip.line, seip.line] });
  return { meip, seip, plic };
}

Deno.test("virt layout: 96 sources, 2 contexts, 3 bitmap words", () => {
  const { plic } = setup();
  const s = plic.state;
  assertEquals([s.numSources, s.numAddrs, s.bitfieldWords, s.numEnables], [96, 2, 3, 6]);
});

Deno.test("a raised, enabled source above threshold drives MEIP; claim and complete", () => {
  const { plic, meip, seip } = setup();
  const uart = plic.irqLine(10);
  plic.write(PRIO(10), 4, 3);
  plic.write(ENABLE(0), 4, 1 << 10);
  plic.write(THRESHOLD(0), 4, 1);
  uart(true);
  assertEquals([meip.level, seip.level], [true, false]);
  assertEquals(plic.read(0x1000, 4), 1 << 10);
  assertEquals(plic.read(CLAIM(0), 4), 10);
  assertEquals(meip.level, false);
  assertEquals(plic.read(CLAIM(0), 4), 0);
  uart(false);
  plic.write(CLAIM(0), 4, 10);
  assertEquals(meip.level, false);
});

Deno.test("completing a source whose line is still high re-pends it (level gateway)", () => {
  const { plic, meip } = setup();
  const line = plic.irqLine(5);
  plic.write(PRIO(5), 4, 1);
  plic.write(ENABLE(0), 4, 1 << 5);
  line(true);
  assertEquals(plic.read(CLAIM(0), 4), 5);
  plic.write(CLAIM(0), 4, 5);
  assertEquals(meip.level, true);
});

Deno.test("priority picks the winner; threshold masks; priorities are WARL mod 8", () => {
  const { plic, meip } = setup();
  plic.write(PRIO(3), 4, 2);
  plic.write(PRIO(4), 4, 0xd); // 0xd % 8 = 5
  assertEquals(plic.read(PRIO(4), 4), 5);
  plic.write(ENABLE(0), 4, (1 << 3) | (1 << 4));
  plic.irqLine(3)(true);
  plic.irqLine(4)(true);
  assertEquals(plic.best(0), 4);
  plic.write(THRESHOLD(0), 4, 5);
  assertEquals(plic.best(0), 0); // a source must be strictly above the threshold
  assertEquals(meip.level, false);
});

Deno.test("irqLine() refuses source 0 and sources past the configuration", () => {
  const { plic } = setup();
  throws(() => plic.irqLine(0), RangeError);
  throws(() => plic.irqLine(96), RangeError);
});

Deno.test("vmdesc entry equals QEMU 7.2's riscv_sifive_plic entry", () => {
  const { plic } = setup();
  assertVmdescMatchesQemu("riscv_sifive_plic", vmstateSifivePlic, plic.state);
});

Deno.test("state round-trips through the engine", () => {
  const { plic } = setup();
  plic.write(PRIO(10), 4, 3);
  plic.write(ENABLE(0), 4, 0x400);
  plic.write(THRESHOLD(0), 4, 1);
  plic.irqLine(10)(true);
  plic.irqLine(11)(true);
  plic.read(CLAIM(0), 4);
  assertEquals(roundTrip(vmstateSifivePlic, plic.state, createPlicState(96, 2)), plic.state);
});

Deno.test("loading re-drives MEIP from the loaded state", async () => {
  const a = setup();
  a.plic.write(PRIO(7), 4, 1);
  a.plic.write(ENABLE(0), 4, 1 << 7);
  a.plic.irqLine(7)(true);
  const bytes = await saveDeviceStream(a.plic);
  const b = setup();
  await loadDeviceStream(b.plic, bytes);
  assertEquals(b.meip.level, true);
  assertEquals(b.plic.read(CLAIM(0), 4), 7);
});

Deno.test("postLoad rejects pending bits beyond num_sources and priorities above 7", async () => {
  const bad = setup();
  bad.plic.state.pending[0] = 1; // source 0 does not exist
  await assertRejected(bad.plic, setup().plic, /pending\[0\]/);
  const bad2 = setup();
  bad2.plic.state.sourcePriority[3] = 8;
  await assertRejected(bad2.plic, setup().plic, /source_priority\[3\] = 8/);
  // With 40 sources, bit 8 of word 1 would be source 40, one past the end.
  const small = () => new SifivePlic({ contexts: [() => {}], numSources: 40 });
  const bad3 = small();
  bad3.state.claimed[1] = 1 << 8;
  await assertRejected(bad3, small(), /claimed\[1\]/);
});

Deno.test("loads the riscv_sifive_plic section of QEMU 7.2's virt-running stream", () => {
  const { plic } = setup();
  const staged = structuredClone(plic.state);
  loadQemuSection("riscv_sifive_plic", vmstateSifivePlic, staged);
  plic.commit(staged);
  assertEquals(
    [plic.read(PRIO(10), 4), plic.read(THRESHOLD(0), 4), plic.read(ENABLE(0), 4)],
    [3, 1, 0x400],
  );
});
