import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decode, Op } from "../../../emu/cpu/decode.ts";
import { warmUpCpu, warmUpImage } from "../../../emu/cpu/warmup.ts";
import { VirtMachine } from "../../../emu/virt.ts";

const BASE = 0x8000_0000;
const CODE = [0x1000 / 4, 0x8000 / 4];

Deno.test("warm-up program: its code area holds every operation the interpreter knows", () => {
  const words = warmUpImage(BASE);
  const seen = new Set<number>();
  for (let k = CODE[0]; k < CODE[1]; k++) seen.add(decode(words[k]));
  const missing = Object.entries(Op).filter(([, op]) => !seen.has(op)).map(([name]) => name);
  assertEquals(missing, []);
});

Deno.test("warm-up program: the same in every process (seeded), different per seed", () => {
  assertEquals(warmUpImage(BASE), warmUpImage(BASE));
  assert(warmUpImage(BASE, 1).some((w, k) => w !== warmUpImage(BASE)[k]));
});

Deno.test("warm-up: runs once per process, and a machine made after it starts from reset", () => {
  warmUpCpu();
  assertEquals(warmUpCpu(), false);
  const m = new VirtMachine({ ramSize: 1 << 20 });
  assertEquals(m.cpu.instret, 0);
  assertEquals(m.cpu.state.pc, m.ram.base);
  assertEquals(m.cpu.state.priv, 3);
  assertEquals([...m.cpu.state.x].every((v) => v === 0), true);
});
