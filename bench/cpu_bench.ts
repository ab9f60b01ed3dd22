/**
 * CPU throughput benchmark: a compute-bound checksum guest (FNV-1a over a
 * 4 KiB buffer with a multiply, loads, stores and a data-dependent branch).
 *
 *   deno run bench/cpu_bench.ts [instructions]   # prints MIPS
 *   deno bench bench/cpu_bench.ts               # Deno.bench form
 *
 * The guest was compiled once (riscv64-unknown-elf-gcc -march=rv32ima -O2) from:
 *
 *   static unsigned buf[1024];
 *   unsigned run(unsigned rounds) {
 *     unsigned h = 2166136261u;
 *     for (unsigned i = 0; i < 1024; i++) buf[i] = i * 2654435761u;
 *     for (unsigned r = 0; r < rounds; r++)
 *       for (unsigned i = 0; i < 1024; i++) {
 *         unsigned v = buf[i];
 *         h = (h ^ v) * 16777619u;
 *         if (h & 1) buf[i] = v + h; else h += v >> 3;
 *       }
 *     return h;
 *   }
 *
 * @module
 */

import { Bus } from "../emu/bus.ts";
import { Cpu } from "../emu/cpu/cpu.ts";
import { Ram } from "../emu/ram.ts";

/** _start (sets sp, calls main_entry, then WFI) + main_entry with run() inlined, rounds=2^31-1. */
const GUEST = [
  0x80100137,
  0x00c000ef,
  0x10500073,
  0xffdff06f,
  0x80001737,
  0x9e378637,
  0xdde6c6b7,
  0x00070313,
  0x00000793,
  0x00070713,
  0x9b160613,
  0x40068693,
  0x00f72023,
  0x00c787b3,
  0x00470713,
  0xfed79ae3,
  0x800008b7,
  0x811ca7b7,
  0x00001837,
  0x01000537,
  0xfff8c893,
  0xdc578793,
  0x01030833,
  0x19350513,
  0x00030693,
  0x0100006f,
  0x00e6a023,
  0x00468693,
  0x02d80663,
  0x0006a703,
  0x00f747b3,
  0x02a787b3,
  0x00375593,
  0x0017f613,
  0x00f70733,
  0xfc061ee3,
  0x00468693,
  0x00b787b3,
  0xfcd81ee3,
  0xfff88893,
  0xfc0890e3,
  0x80001737,
  0xfef72823,
  0x00008067,
];

/** Builds a fresh 128 MiB machine with the guest loaded at the RAM base. */
export function makeBenchCpu(): Cpu {
  const ram = new Ram();
  ram.write(ram.base, new Uint8Array(new Uint32Array(GUEST).buffer));
  return new Cpu(new Bus(ram));
}

/** Runs `n` guest instructions and returns millions of instructions per second. */
export function measureMips(n: number): { mips: number; ms: number; checksum: number } {
  const cpu = makeBenchCpu();
  cpu.run(2_000_000); // warm up the JIT on the same code path
  const t0 = performance.now();
  let done = 0;
  while (done < n) done += cpu.run(Math.min(n - done, 10_000_000));
  const ms = performance.now() - t0;
  return { mips: done / ms / 1000, ms, checksum: cpu.state.x[15] >>> 0 };
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 300_000_000);
  for (let i = 0; i < 3; i++) {
    const r = measureMips(n);
    console.log(
      `cpu_bench: ${n} instructions in ${r.ms.toFixed(0)} ms = ${r.mips.toFixed(1)} MIPS ` +
        `(a5=0x${r.checksum.toString(16)})`,
    );
  }
} else {
  const cpu = makeBenchCpu();
  Deno.bench("cpu: 1M instructions of the checksum loop", () => {
    cpu.run(1_000_000);
  });
}
