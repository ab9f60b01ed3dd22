/**
 * Control and status registers: numbers, privilege checks from the CSR number
 * itself (privileged spec 2.1: bits [9:8] lowest privilege, [11:10]=3 read-only),
 * counter gating, and WARL read/write behaviour with QEMU 7.2's masks
 * (target/riscv/csr.c). sstatus, sie and sip are views of mstatus, mie, mip.
 *
 * @module
 */

import { Op } from "./decode.ts";
import { writePmpaddr, writePmpcfg } from "./pmp.ts";
import { addCycle, addInstret, type CpuState, PRV_M, PRV_S, PRV_U } from "./state.ts";
import { Irq, legalizeMpp, MSTATUS } from "./trap.ts";

/** CSR numbers (privileged spec 2.2, tables 2.2-2.6). */
export const CSR = {
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  satp: 0x180,
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

/** mstatus bits software may write (QEMU 7.2 write_mstatus for rv32 without F). */
const MSTATUS_WMASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.SPP |
  MSTATUS.MPRV | MSTATUS.SUM | MSTATUS.MPP | MSTATUS.MXR | MSTATUS.TVM | MSTATUS.TSR |
  MSTATUS.TW | MSTATUS.VS;
/** The sstatus view of mstatus (QEMU's sstatus_v1_10_mask; UIE/UPIE/FS/XS read 0 here). */
const SSTATUS_MASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.FS | MSTATUS.XS |
  MSTATUS.SUM | MSTATUS.MXR | MSTATUS.VS | 0x11;
const bit = (n: number) => 1 << n;
/** Supervisor-level interrupts: SSI, STI, SEI and LCOFI (13). */
const S_INTS = bit(Irq.SSI) | bit(Irq.STI) | bit(Irq.SEI) | bit(13);
/** VS-level interrupt bits, which QEMU 7.2 keeps writable even without H. */
const VS_INTS = bit(2) | bit(6) | bit(10);
/** mie writable bits: QEMU's all_ints less SGEIP (no H). */
const MIE_WMASK = bit(Irq.MSI) | bit(Irq.MTI) | bit(Irq.MEI) | S_INTS | VS_INTS;
/** mideleg and mip writable bits: QEMU's delegable_ints. */
const DELEGABLE_INTS = S_INTS | VS_INTS;
/** sip bits S mode may write, within mideleg: SSIP, USIP, UEIP, LCOFIP. */
const SIP_WMASK = bit(Irq.SSI) | bit(0) | bit(8) | bit(13);
/** Delegable exceptions: QEMU's DELEGABLE_EXCPS (0-9, 11-13, 15 and the H causes 20-23). */
const DELEGABLE_EXCPS = 0x3ff | bit(11) | bit(12) | bit(13) | bit(15) | bit(20) | bit(21) |
  bit(22) | bit(23);
/** Number of mhpmcounterN/hpmcounterN above 2 that exist (QEMU 7.2's default pmu-num=16). */
const PMU_COUNTERS = 16;

/** What the CSR file needs from the hart besides its state record. */
export interface CsrHost {
  /** The architectural state. */
  readonly state: CpuState;
  /** Current value of the `time` CSR (virtual, deterministic; may exceed 2^32). */
  readTime(): number;
  /** Level of the PLIC's S-mode external line, ORed into mip.SEIP (QEMU's `external_seip`). */
  readonly seipLine?: boolean;
  /** Called after a pmpcfg/pmpaddr write so derived PMP ranges and the TLB are rebuilt. */
  pmpChanged?(): void;
}

/** True if CSR `num` is one of the read-as-zero, write-ignored counters/PMP/event/config registers. */
function isZeroCsr(num: number): boolean {
  return (num >= 0xb03 && num < 0xb03 + PMU_COUNTERS) || // mhpmcounter3..18
    (num >= 0xb83 && num < 0xb83 + PMU_COUNTERS) || // mhpmcounter3h..18h
    (num >= 0xc03 && num < 0xc03 + PMU_COUNTERS) || // hpmcounter3..18
    (num >= 0xc83 && num < 0xc83 + PMU_COUNTERS) || // hpmcounter3h..18h
    (num >= 0x323 && num <= 0x33f) || // mhpmevent
    (num >= 0x3a4 && num <= 0x3af) || (num >= 0x3c0 && num <= 0x3ef) || // PMP entries 16..63
    num === CSR.menvcfg || num === CSR.menvcfgh || num === CSR.senvcfg ||
    num === CSR.mstatush || num === CSR.mcountinhibit || num === CSR.tselect ||
    num === CSR.tdata1 || num === CSR.tdata2 || num === CSR.tdata3 || num === CSR.mvendorid ||
    num === CSR.marchid || num === CSR.mimpid || num === CSR.mconfigptr;
}

/** mstatus as read: SD (bit 31) summarises FS/VS/XS = dirty (QEMU's add_status_sd). */
function readMstatus(st: number): number {
  const dirty = (st & MSTATUS.FS) === MSTATUS.FS || (st & MSTATUS.VS) === MSTATUS.VS ||
    (st & MSTATUS.XS) === MSTATUS.XS;
  return (dirty ? st | MSTATUS.SD : st) >>> 0;
}

/**
 * Reads CSR `num` without privilege checks; `undefined` if it does not exist.
 * Counters must already include instructions retired in the current block.
 */
export function csrRead(h: CsrHost, num: number): number | undefined {
  const s = h.state;
  switch (num) {
    case CSR.sstatus:
      return readMstatus(s.mstatus & SSTATUS_MASK);
    case CSR.sie:
      return (s.mie & s.mideleg & S_INTS) >>> 0;
    case CSR.stvec:
      return s.stvec;
    case CSR.scounteren:
      return s.scounteren;
    case CSR.sscratch:
      return s.sscratch;
    case CSR.sepc:
      return s.sepc;
    case CSR.scause:
      return s.scause;
    case CSR.stval:
      return s.stval;
    case CSR.sip:
      return (s.mip & s.mideleg & S_INTS) >>> 0;
    case CSR.satp:
      return s.satp;
    case CSR.mstatus:
      return readMstatus(s.mstatus);
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
  if (num >= CSR.pmpcfg0 && num <= CSR.pmpcfg0 + 3) {
    const c = s.pmpcfg, i = (num - CSR.pmpcfg0) * 4;
    return (c[i] | (c[i + 1] << 8) | (c[i + 2] << 16) | (c[i + 3] << 24)) >>> 0;
  }
  if (num >= CSR.pmpaddr0 && num <= CSR.pmpaddr0 + 15) return s.pmpaddr[num - CSR.pmpaddr0];
  return isZeroCsr(num) ? 0 : undefined;
}

/** Writes mip bits `mask` (within QEMU's delegable_ints) to `v`; SEIP keeps the PLIC's line. */
function writeMip(s: CpuState, mask: number, v: number, seipLine: boolean): void {
  let m = mask & DELEGABLE_INTS;
  if ((m & bit(Irq.SEI)) !== 0) {
    s.softwareSeip = (v >>> Irq.SEI) & 1;
    if (seipLine) v |= bit(Irq.SEI);
  }
  m >>>= 0;
  s.mip = ((s.mip & ~m) | (v & m)) >>> 0;
}

/**
 * Writes CSR `num` (already checked writable), applying its WARL rules.
 * `mask` holds the bits the instruction writes (CSRRS/C touch only those):
 * it matters for mip/sip, whose SEIP must not copy the PLIC line into the
 * software bit; elsewhere `value` already merges the old bits.
 */
export function csrWrite(h: CsrHost, num: number, value: number, mask = 0xffff_ffff): void {
  const seipLine = h.seipLine === true;
  const s = h.state;
  const v = value >>> 0;
  switch (num) {
    case CSR.sstatus:
      s.mstatus = legalizeMpp(
        (s.mstatus & ~(SSTATUS_MASK & MSTATUS_WMASK)) | (v & SSTATUS_MASK & MSTATUS_WMASK),
      ) >>> 0;
      return;
    case CSR.sie: {
      const m = s.mideleg & S_INTS;
      s.mie = ((s.mie & ~m) | (v & m)) >>> 0;
      return;
    }
    case CSR.stvec:
      if ((v & 3) < 2) s.stvec = v;
      return;
    case CSR.scounteren:
      s.scounteren = v;
      return;
    case CSR.sscratch:
      s.sscratch = v;
      return;
    case CSR.sepc:
      s.sepc = (v & ~3) >>> 0; // IALIGN=32, as for mepc
      return;
    case CSR.scause:
      s.scause = v;
      return;
    case CSR.stval:
      s.stval = v;
      return;
    case CSR.sip:
      writeMip(s, s.mideleg & SIP_WMASK & mask, v, seipLine);
      return;
    case CSR.satp:
      // Sv32 and Bare are both valid MODEs; QEMU 7.2 stores every bit.
      s.satp = v;
      return;
    case CSR.mstatus:
      s.mstatus = legalizeMpp((s.mstatus & ~MSTATUS_WMASK) | (v & MSTATUS_WMASK)) >>> 0;
      return;
    case CSR.medeleg:
      s.medeleg = (v & DELEGABLE_EXCPS) >>> 0;
      return;
    case CSR.mideleg:
      s.mideleg = (v & DELEGABLE_INTS) >>> 0;
      return;
    case CSR.mie:
      s.mie = (v & MIE_WMASK) >>> 0;
      return;
    case CSR.mip:
      writeMip(s, DELEGABLE_INTS & mask, v, seipLine);
      return;
    case CSR.mtvec:
      // 3.1.7: MODE values >= 2 are reserved; like QEMU 7.2, ignore such writes.
      if ((v & 3) < 2) s.mtvec = v;
      return;
    case CSR.mcounteren:
      s.mcounteren = v;
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
      if (num >= CSR.pmpcfg0 && num <= CSR.pmpcfg0 + 3) {
        writePmpcfg(s, num - CSR.pmpcfg0, v);
        h.pmpChanged?.();
      } else if (num >= CSR.pmpaddr0 && num <= CSR.pmpaddr0 + 15) {
        writePmpaddr(s, num - CSR.pmpaddr0, v);
        h.pmpChanged?.();
      }
      return;
      // misa (WARL, fixed) and the zero CSRs ignore writes.
  }
}

/**
 * Whether the current privilege level may access CSR `num` (2.1, 3.1.11, 3.1.6.5).
 * Returns false for illegal-instruction cases: missing CSR, too little
 * privilege, write to a read-only CSR, a counter disabled by mcounteren (S, U)
 * or scounteren (U), or satp in S mode with mstatus.TVM.
 */
export function csrAccessible(h: CsrHost, num: number, write: boolean): boolean {
  const s = h.state;
  if (((num >>> 8) & 3) > s.priv) return false;
  if (write && (num >>> 10) === 3) return false;
  if (num >= 0xc00 && num <= 0xc9f && s.priv < PRV_M) {
    // 3.1.11 / 4.1.4: mcounteren gates S and U, scounteren gates U as well.
    const b = 1 << (num & 31);
    if ((s.mcounteren & b) === 0) return false;
    if (s.priv === PRV_U && (s.scounteren & b) === 0) return false;
  }
  if (num === CSR.satp && s.priv === PRV_S && (s.mstatus & MSTATUS.TVM) !== 0) return false;
  return csrRead(h, num) !== undefined;
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
    csrWrite(
      h,
      num,
      kind === Op.CSRRW ? src : kind === Op.CSRRS ? old | src : old & ~src,
      kind === Op.CSRRW ? 0xffff_ffff : src,
    );
  }
  x[rd] = old;
  return true;
}
