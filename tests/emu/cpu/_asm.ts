/** Tiny RV32 encoders for hand-written test programs (test helper, not shipped). */

import { Bus } from "../../../emu/bus.ts";
import { Cpu, type CpuOptions } from "../../../emu/cpu/cpu.ts";
import { Ram } from "../../../emu/ram.ts";

/** I-type: imm[11:0] rs1 funct3 rd opcode. */
export const i = (op: number, f3: number, rd: number, rs1: number, imm: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
/** S-type store. */
export const s = (f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) |
    0x23) >>> 0;
/** R-type. */
export const r = (op: number, f3: number, f7: number, rd: number, rs1: number, rs2: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
/** ADDI rd, rs1, imm. */
export const addi = (rd: number, rs1: number, imm: number) => i(0x13, 0, rd, rs1, imm);
/** LUI rd, imm20. */
export const lui = (rd: number, imm20: number) =>
  (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0;
/** LW rd, imm(rs1). */
export const lw = (rd: number, rs1: number, imm: number) => i(0x03, 2, rd, rs1, imm);
/** SW rs2, imm(rs1). */
export const sw = (rs2: number, rs1: number, imm: number) => s(2, rs1, rs2, imm);
/** SB rs2, imm(rs1). */
export const sb = (rs2: number, rs1: number, imm: number) => s(0, rs1, rs2, imm);
/** CSRRW/CSRRS family: f3 1..3, 5..7. */
export const csr = (f3: number, rd: number, rs1: number, num: number) => i(0x73, f3, rd, rs1, num);
/** JAL x0, offset (offset within +-1 MiB). */
export const j = (off: number) =>
  ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) |
    (((off >> 12) & 0xff) << 12) | 0x6f) >>> 0;
/** AMO/LR/SC: funct5, rd, rs1, rs2. */
export const amo = (f5: number, rd: number, rs1: number, rs2: number) =>
  r(0x2f, 2, f5 << 2, rd, rs1, rs2);
/** Fixed encodings. */
export const NOP = 0x00000013, ECALL = 0x00000073, WFI = 0x10500073, MRET = 0x30200073;

/** A 1 MiB machine with `words` at the RAM base and the CPU's pc there. */
export function machine(words: number[], opts: CpuOptions = {}): { cpu: Cpu; ram: Ram; bus: Bus } {
  const ram = new Ram(1 << 20);
  const bus = new Bus(ram);
  ram.write(ram.base, new Uint8Array(new Uint32Array(words).buffer));
  const cpu = new Cpu(bus, opts);
  return { cpu, ram, bus };
}
