/**
 * Test harness: boots a bare-metal ELF on a fresh RAM/bus/CPU and polls the
 * HTIF `tohost` word (riscv-tests convention: 1 = pass, (n << 1) | 1 = fail n).
 *
 * @module
 */

import { Bus } from "../../emu/bus.ts";
import { Cpu } from "../../emu/cpu/cpu.ts";
import { loadElf } from "../../emu/elf.ts";
import { Ram } from "../../emu/ram.ts";

/** Outcome of an HTIF run. */
export interface HtifResult {
  /** Raw tohost value (0 if the budget ran out). */
  tohost: number;
  /** True if tohost == 1. */
  pass: boolean;
  /** Failing test number (tohost >> 1) when not passing. */
  failedTest: number;
  /** Instructions executed. */
  steps: number;
  /** The CPU, for further assertions. */
  cpu: Cpu;
}

/**
 * Boots an ELF and runs it until it writes `tohost` or `maxSteps` instructions pass; with
 * `translateAfter`, the CPU translates code reached that many times (1: all of it).
 */
export function runHtif(
  elf: Uint8Array,
  maxSteps = 5_000_000,
  ramSize = 4 << 20,
  translateAfter?: number,
): HtifResult {
  const ram = new Ram(ramSize);
  const bus = new Bus(ram);
  const image = loadElf(elf, ram);
  const cpu = new Cpu(bus, { resetPc: image.entry });
  if (translateAfter !== undefined) cpu.setTranslate(true, translateAfter);
  const tohost = image.symbols.get("tohost");
  if (tohost === undefined) throw new TypeError("ELF has no tohost symbol");
  const word = (tohost - ram.base) >>> 2;
  let steps = 0;
  while (steps < maxSteps) {
    steps += cpu.run(10_000);
    const v = ram.u32[word];
    if (v !== 0) return { tohost: v, pass: v === 1, failedTest: v >>> 1, steps, cpu };
    if (cpu.stopReason === "wfi") break;
  }
  return { tohost: 0, pass: false, failedTest: -1, steps, cpu };
}
