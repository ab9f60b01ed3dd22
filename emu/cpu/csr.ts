/**
 * Control and status registers: numbers, privilege checks from the CSR number
 * itself (privileged spec 2.1: bits [9:8] lowest privilege, [11:10]=3 read-only),
 * and WARL read/write behaviour. Supervisor CSRs slot in here later.
 *
 * @module
 */

import { Op } from "./decode.ts";
import { addCycle, addInstret, type CpuState, PRV_M, PRV_U } from "./state.ts";
import { Irq, legalizeMpp, MSTATUS } from "./trap.ts";

/** CSR numbers (privileged spec 2.2, tables 2.2-2.6). */
export const CSR = {
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  cycleh: 0xc80,
  timeh: 0xc81,
  instreth: 0xc82,
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mstatush: 0x310,
  menvcfgh: 0x31a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  mcycle: 0xb00,
  minstret: 0xb02,
  mcycleh: 0xb80,
  minstreth: 0xb82,
  pmpcfg0: 0x3a0,
  pmpaddr0: 0x3b0,
  tselect: 0x7a0,
  tdata1: 0x7a1,
  tdata2: 0x7a2,
  tdata3: 0x7a3,
} as const;

/** mstatus bits writable on this M+U hart (S-mode bits stay 0 until S exists). */
const MSTATUS_WMASK = MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MPRV | MSTATUS.TW;
/** mie bits that exist on this hart. */
const MIE_WMASK = (1 << Irq.MSI) | (1 << Irq.MTI) | (1 << Irq.MEI);
/** mcounteren bits: CY, TM, IR and hpmcounter3..31 (those read 0). */
const MCOUNTEREN_WMASK = 0xffff_ffff;

/** What the CSR file needs from the hart besides its state record. */
export interface CsrHost {
  /** The architectural state. */
  readonly state: CpuState;
  /** Current value of the `time` CSR (virtual, deterministic; may exceed 2^32). */
  readTime(): number;
}

/** True if CSR `num` is one of the read-as-zero, write-ignored counters/PMP/event registers. */
function isZeroCsr(num: number): boolean {
  return (num >= 0xb03 && num <= 0xb1f) || (num >= 0xb83 && num <= 0xb9f) || // mhpmcounter
    (num >= 0x323 && num <= 0x33f) || // mhpmevent
    (num >= 0x3a4 && num <= 0x3af) || (num >= 0x3c0 && num <= 0x3ef) || // PMP entries 16..63
    num === CSR.menvcfg || num === CSR.menvcfgh || num === CSR.mstatush ||
    num === CSR.mcountinhibit || num === CSR.tselect || num === CSR.tdata1 ||
    num === CSR.tdata2 || num === CSR.tdata3 || num === CSR.mvendorid ||
    num === CSR.marchid || num === CSR.mimpid || num === CSR.mconfigptr;
}

/**
 * Reads CSR `num` without privilege checks; `undefined` if it does not exist.
 * Counters must already include instructions retired in the current block.
 */
export function csrRead(h: CsrHost, num: number): number | undefined {
  const s = h.state;
  switch (num) {
    case CSR.mstatus:
      return s.mstatus;
    case CSR.misa:
      return s.misa;
    case CSR.medeleg:
      return s.medeleg;
    case CSR.mideleg:
      return s.mideleg;
    case CSR.mie:
      return s.mie;
    case CSR.mtvec:
      return s.mtvec;
    case CSR.mcounteren:
      return s.mcounteren;
    case CSR.mscratch:
      return s.mscratch;
    case CSR.mepc:
      return s.mepc;
    case CSR.mcause:
      return s.mcause;
    case CSR.mtval:
      return s.mtval;
    case CSR.mip:
      return s.mip;
    case CSR.mhartid:
      return s.mhartid;
    case CSR.mcycle:
    case CSR.cycle:
      return s.cycleLo;
    case CSR.mcycleh:
    case CSR.cycleh:
      return s.cycleHi;
    case CSR.minstret:
    case CSR.instret:
      return s.instretLo;
    case CSR.minstreth:
    case CSR.instreth:
      return s.instretHi;
    case CSR.time:
      return h.readTime() % 0x1_0000_0000 >>> 0;
    case CSR.timeh:
      return Math.floor(h.readTime() / 0x1_0000_0000) >>> 0;
  }
  if ((num >= 0xc03 && num <= 0xc1f) || (num >= 0xc83 && num <= 0xc9f)) return 0; // hpmcounterN
  if (num >= CSR.pmpcfg0 && num <= CSR.pmpcfg0 + 3) {
    const c = s.pmpcfg, i = (num - CSR.pmpcfg0) * 4;
    return (c[i] | (c[i + 1] << 8) | (c[i + 2] << 16) | (c[i + 3] << 24)) >>> 0;
  }
  if (num >= CSR.pmpaddr0 && num <= CSR.pmpaddr0 + 15) return s.pmpaddr[num - CSR.pmpaddr0];
  return isZeroCsr(num) ? 0 : undefined;
}

/** Writes CSR `num` (already checked writable), applying its WARL rules. */
export function csrWrite(h: CsrHost, num: number, value: number): void {
  const s = h.state;
  const v = value >>> 0;
  switch (num) {
    case CSR.mstatus:
      s.mstatus = legalizeMpp((s.mstatus & ~MSTATUS_WMASK) | (v & MSTATUS_WMASK)) >>> 0;
      return;
    case CSR.mie:
      s.mie = (v & MIE_WMASK) >>> 0;
      return;
    case CSR.mtvec:
      // 3.1.7: MODE values >= 2 are reserved; like QEMU 7.2, ignore such writes.
      if ((v & 3) < 2) s.mtvec = v;
      return;
    case CSR.mcounteren:
      s.mcounteren = (v & MCOUNTEREN_WMASK) >>> 0;
      return;
    case CSR.mscratch:
      s.mscratch = v;
      return;
    case CSR.mepc:
      // 3.1.14: with IALIGN=32, mepc[1:0] are always zero.
      s.mepc = (v & ~3) >>> 0;
      return;
    case CSR.mcause:
      s.mcause = v;
      return;
    case CSR.mtval:
      s.mtval = v;
      return;
    case CSR.mcycle:
      s.cycleLo = v;
      return;
    case CSR.mcycleh:
      s.cycleHi = v;
      return;
    case CSR.minstret:
      s.instretLo = v;
      return;
    case CSR.minstreth:
      s.instretHi = v;
      return;
    default:
      if (num >= CSR.pmpcfg0 && num <= CSR.pmpcfg0 + 3) writePmpcfg(s, (num - CSR.pmpcfg0) * 4, v);
      else if (num >= CSR.pmpaddr0 && num <= CSR.pmpaddr0 + 15) {
        writePmpaddr(s, num - CSR.pmpaddr0, v);
      }
      return;
      // misa (WARL, fixed), medeleg/mideleg (no S mode: read-only zero), mip (M bits are
      // driven by devices; S bits absent), and the zero CSRs ignore writes.
  }
}

/** PMP cfg bits (3.7.1): L, A (2 bits), X, W, R; bits 6:5 are reserved zero. */
const PMP_L = 0x80, PMP_A = 0x18, PMP_TOR = 0x08, PMP_CFG_WMASK = 0x9f;

/** Writes four PMP cfg bytes starting at entry `first`, skipping locked entries (3.7.1.3). */
function writePmpcfg(s: CpuState, first: number, v: number): void {
  for (let k = 0; k < 4; k++) {
    const i = first + k;
    if ((s.pmpcfg[i] & PMP_L) !== 0) continue;
    let b = (v >>> (8 * k)) & PMP_CFG_WMASK;
    if ((b & 3) === 2) b &= ~3; // R=0,W=1 is reserved: treat as no access, like QEMU
    s.pmpcfg[i] = b;
  }
}

/** Writes pmpaddr`i` unless it or a TOR entry above it is locked (3.7.1.3). G=0, all bits writable. */
function writePmpaddr(s: CpuState, i: number, v: number): void {
  if ((s.pmpcfg[i] & PMP_L) !== 0) return;
  if (i + 1 < 16 && (s.pmpcfg[i + 1] & (PMP_L | PMP_A)) === (PMP_L | PMP_TOR)) return;
  s.pmpaddr[i] = v;
}

/**
 * Whether the current privilege level may access CSR `num` (2.1 and 3.1.11).
 * Returns false for illegal-instruction cases: missing CSR, too little
 * privilege, write to a read-only CSR, or a counter disabled by mcounteren.
 */
export function csrAccessible(h: CsrHost, num: number, write: boolean): boolean {
  const s = h.state;
  if (((num >>> 8) & 3) > s.priv) return false;
  if (write && (num >>> 10) === 3) return false;
  if (num >= 0xc00 && num <= 0xc9f && s.priv < PRV_M) {
    // 3.1.11: mcounteren bit (num & 31) gates lower-privilege access.
    if ((s.mcounteren & (1 << (num & 31))) === 0) return false;
  }
  if (csrRead(h, num) === undefined) return false;
  return s.priv >= PRV_U;
}

/**
 * Executes CSRRW/S/C(I) `ins` (decoded as `op`), retiring it; returns false if
 * it is illegal (nothing changes then). The caller has already added the
 * block's earlier instructions to the counters, so reads see exact values.
 */
export function execCsr(h: CsrHost, ins: number, op: number): boolean {
  const s = h.state;
  const x = s.x;
  const num = ins >>> 20;
  const rd = (ins >> 7) & 31;
  const rs1 = (ins >> 15) & 31;
  const imm = op >= Op.CSRRWI;
  const src = imm ? rs1 : x[rs1];
  const kind = imm ? op - 3 : op; // CSRRWI..CSRRCI -> CSRRW..CSRRC
  // 9.1: CSRRW with rd=x0 does not read; CSRRS/C with rs1=x0 (or uimm=0) do not write.
  const writes = kind === Op.CSRRW || rs1 !== 0;
  if (!csrAccessible(h, num, writes)) return false;
  const old = kind === Op.CSRRW && rd === 0 ? 0 : csrRead(h, num)! | 0;
  // A write to a counter (either half) replaces this instruction's own increment of it
  // (riscv-tests rv32mi instret_overflow: "the increment is suppressed").
  if (!writes || (num !== CSR.minstret && num !== CSR.minstreth)) addInstret(s, 1);
  if (!writes || (num !== CSR.mcycle && num !== CSR.mcycleh)) addCycle(s, 1);
  if (writes) {
    csrWrite(h, num, kind === Op.CSRRW ? src : kind === Op.CSRRS ? old | src : old & ~src);
  }
  x[rd] = old;
  return true;
}
