/**
 * The translator against the interpreter (the reference): every guest ELF in emu/guests/build and
 * the Linux boot run both ways from the same starting state, in lockstep slices, and the whole
 * machine (every device field, CPU state, counters, RAM page by page) is compared after each
 * slice. Snapshots taken with the translator on load with it off and continue identically, and
 * the reverse.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  decodedCopy,
  diffMachines,
  machinesEqual,
} from "../../../../harness/store/machine_diff.ts";
import type { Machine } from "../../../../emu/machine.ts";
import { VirtMachine } from "../../../../emu/virt.ts";
import { bootImage } from "../../../../repl/guest_boot.ts";
import { linuxArtifacts, linuxMissingReason } from "../../../../emu/guests/linux/artifacts.ts";
import { LINUX_APPEND } from "../../../../emu/guests/linux/qemu.ts";
import { bootVirtFiles } from "../../../../emu/boot/boot.ts";
import { addi, i, machine } from "../_asm.ts";

const BUILD = new URL("../../../../emu/guests/build/", import.meta.url);
const RAM = 16 << 20;

/** Every guest ELF that is built (the build directory is committed). */
const guests = [...Deno.readDirSync(BUILD)]
  .filter((e) => e.name.endsWith(".elf"))
  .map((e) => e.name)
  .sort();

function bootElf(name: string, translate: boolean): VirtMachine {
  const m = new VirtMachine({ ramSize: RAM, translate });
  bootImage(m, { name, elf: Deno.readFileSync(new URL(name, BUILD)) });
  return m;
}

/** Fails with the first differing fields and pages, naming where. */
function assertSame(a: Machine, b: Machine, where: string): void {
  assertEquals(a.cpu.instret, b.cpu.instret, `${where}: instructions retired`);
  const d = diffMachines(a, b);
  if (!machinesEqual(d)) {
    const f = d.fields.slice(0, 8).map((x) => `${x.section} ${x.path}: ${x.a} vs ${x.b}`);
    const p = d.pages.slice(0, 8).map((x) => `0x${x.toString(16)}`);
    throw new Error(`${where}: machines differ\n${f.join("\n")}\npages ${p.join(" ")}`);
  }
}

/**
 * Runs `a` (interpreter) and `b` (translator) in slices of `slice` cycles until both stop or
 * `total` cycles passed, comparing after every slice; returns the slices compared.
 */
function lockstep(a: Machine, b: Machine, slice: number, total: number, what: string): number {
  let points = 0;
  for (let done = 0; done < total; done += slice) {
    const ra = a.run(slice), rb = b.run(slice);
    assertEquals(rb, ra, `${what} after ${done} cycles: run results`);
    assertSame(a, b, `${what} at ${done + slice} cycles`);
    points++;
    if (ra.stop === "exit" || ra.stop === "idle") break;
  }
  return points;
}

for (const name of guests) {
  Deno.test(`translator: ${name} matches the interpreter at every slice`, () => {
    const a = bootElf(name, false), b = bootElf(name, true);
    b.cpu.setTranslate(true, 1); // translate every block at its first entry: the most coverage
    assert(b.cpu.translating && !a.cpu.translating);
    for (const m of [a, b]) m.sendInput("hello, snapshell\nabc xyz 123\nq"); // uart-echo's input
    const points = lockstep(a, b, 97_301, 4_000_000, name);
    assert(points > 1 || a.exitCode !== undefined, `${name}: compared ${points} points`);
  });
}

Deno.test("translator: compute.elf translates its hot loops and still matches", () => {
  const a = bootElf("compute.elf", false), b = bootElf("compute.elf", true);
  lockstep(a, b, 1_000_003, 12_000_000, "compute");
  assert(b.cpu.translatedBlocks > 0, `only ${b.cpu.translatedBlocks} blocks translated`);
});

Deno.test("translator: loops stop exactly at odd budgets (registers and pc after each slice)", () => {
  const a = bootElf("compute-small.elf", false), b = bootElf("compute-small.elf", true);
  b.cpu.setTranslate(true, 1);
  for (let k = 0; k < 400; k++) {
    const slice = 1 + ((k * 7919) % 2_003);
    assertEquals(b.run(slice), a.run(slice), `slice ${k}`);
    assertEquals(
      [b.cpu.instret, b.cpu.state.pc, ...b.cpu.state.x],
      [a.cpu.instret, a.cpu.state.pc, ...a.cpu.state.x],
      `after slice ${k}`,
    );
  }
  assertSame(a, b, "compute-small after 400 odd slices");
  assert(b.cpu.translatedBlocks > 0);
});

Deno.test("translator: a snapshot taken translating loads interpreting and continues identically, and the reverse", async () => {
  for (const name of ["compute-paged.elf", "demo.elf", "memwriter.elf"]) {
    const on = bootElf(name, true);
    on.cpu.setTranslate(true, 100);
    on.run(1_500_000);
    assert(on.cpu.translatedBlocks > 0, `${name}: nothing translated before the snapshot`);
    const off = await decodedCopy(on, bootElf(name, false));
    assertSame(on, off, `${name}: after loading translated → interpreted`);
    lockstep(off, on, 250_007, 1_500_000, `${name} (snapshot from translated)`);
    const on2 = await decodedCopy(off, bootElf(name, true));
    on2.cpu.setTranslate(true, 100);
    assertSame(off, on2, `${name}: after loading interpreted → translated`);
    lockstep(off, on2, 250_007, 1_500_000, `${name} (snapshot from interpreted)`);
  }
});

Deno.test("translator: stores into translated code run the new instructions", () => {
  // A loop whose body is rewritten by a store inside the same block: the translated block must
  // stop after the store, and the next pass must execute the new word.
  const words = [
    0x00000513, // li a0, 0
    0x00000597, // auipc a1, 0           (a1 = address of this word)
    0x7f800613, // li a2, 2040
    // loop:
    0x00150513, // addi a0, a0, 1        (rewritten below into addi a0, a0, 2)
    0x00250693, // addi a3, a0, 2        (scratch)
    0x0085a703, // lw a4, 8(a1)          (the word "addi a0, a0, 1" is at a1 + 8)
    0x00100793, // li a5, 1
    0x01479793, // slli a5, a5, 20       (a5 = 1 << 20: imm 1 → 2 in the addi's encoding)
    0x00f70733, // add a4, a4, a5
    0x00e5a423, // sw a4, 8(a1)          (imm += 1 each pass)
    0xfff60613, // addi a2, a2, -1
    0xfe0610e3, // bnez a2, loop
    0x0000006f, // j .
  ];
  const run = (translate: boolean) => {
    const m = new VirtMachine({ ramSize: 1 << 20, translate });
    if (translate) m.cpu.setTranslate(true, 100);
    words.forEach((w, i) => m.ram.u32[i] = w);
    m.cpu.state.pc = m.ram.base;
    // Enough passes for the loop to become hot and be translated (then rewritten under it).
    for (let i = 0; i < 10; i++) m.run(5_000);
    return m;
  };
  const a = run(false), b = run(true);
  assertSame(a, b, "self-modifying loop");
  assert(b.cpu.translatedBlocks > 0, "the loop was never translated");
  // 2040 passes adding 1, 2, ..., 2040.
  assertEquals(a.cpu.state.x[10], 2040 * 2041 / 2);
});

const linux = linuxArtifacts();
Deno.test({
  name: "translator: the Linux boot matches the interpreter from the same snapshots",
  ignore: linux === null,
  async fn() {
    const a = new VirtMachine({ ramSize: 128 << 20, translate: false });
    await bootVirtFiles(a, { bios: linux!.bios, kernel: linux!.kernel, append: LINUX_APPEND });
    a.run(3_000_000);
    const b = await decodedCopy(a, new VirtMachine({ ramSize: 128 << 20, translate: true }));
    b.cpu.setTranslate(true, 100); // far below the default: hundreds of kernel blocks translated
    // Snapshot at 3 M: both continue from it, compared every 2 M cycles to the init's prompt.
    lockstep(a, b, 2_000_003, 40_000_000, "linux");
    assert(a.consoleText.length > 0);
    assert(b.cpu.translatedBlocks > 100, `only ${b.cpu.translatedBlocks} blocks translated`);
  },
});
if (linux === null) console.log(`Linux differential test ignored: ${linuxMissingReason()}`);

Deno.test("translator: a block runs on through branches not taken and leaves at those taken", () => {
  // One block from `loop` to the `bnez` back to it: a forward side exit (taken one pass in
  // eight), then the loop branch; stepped at odd budgets against the interpreter.
  const b = (f3: number, rs1: number, rs2: number, off: number) =>
    ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
      (f3 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
  const words = [
    addi(10, 0, 0), // li a0, 0
    addi(11, 0, 0), // li a1, 0
    addi(12, 0, 2000), // li a2, 2000
    // loop (word 3):
    addi(10, 10, 1), // addi a0, a0, 1
    i(0x13, 7, 5, 10, 7), // andi t0, a0, 7
    b(0, 5, 0, 16), // beqz t0, side (word 9)
    addi(11, 11, 3), // addi a1, a1, 3
    addi(12, 12, -1), // addi a2, a2, -1
    b(1, 12, 0, -20), // bnez a2, loop
    // side (word 9):
    addi(13, 13, 1), // addi a3, a3, 1
    addi(12, 12, -1), // addi a2, a2, -1
    b(1, 12, 0, -32), // bnez a2, loop
    0x00100073, // ebreak
  ];
  const ref = machine(words), jit = machine(words);
  jit.cpu.setTranslate(true, 1);
  const total = 3 + 2000 * 6; // to the ebreak
  for (let k = 0; ref.cpu.instret < total; k++) {
    const slice = Math.min(1 + ((k * 7919) % 37), total - ref.cpu.instret);
    assertEquals(jit.cpu.run(slice), ref.cpu.run(slice), `slice ${k}`);
    assertEquals(
      [jit.cpu.instret, jit.cpu.state.pc, ...jit.cpu.state.x],
      [ref.cpu.instret, ref.cpu.state.pc, ...ref.cpu.state.x],
      `after slice ${k}`,
    );
  }
  assert(jit.cpu.translatedBlocks > 0);
  assertEquals([ref.cpu.state.x[11], ref.cpu.state.x[13]], [3 * 1750, 250]);
});
