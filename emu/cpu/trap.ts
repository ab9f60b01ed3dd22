/**
 * Trap causes and trap entry/return (privileged spec 3.1.15-3.1.16, 3.3.2).
 * Exceptions raised deep in a slow memory path are thrown as {@link GuestTrap}
 * (a plain object, not an Error: no stack capture) and taken by the run loop.
 *
 * @module
 */

import { type CpuState, PRV_M, PRV_S } from "./state.ts";

/** Exception codes (mcause with bit 31 clear), privileged spec table 3.6. */
export const Cause = {
  InstructionAddressMisaligned: 0,
  InstructionAccessFault: 1,
  IllegalInstruction: 2,
  Breakpoint: 3,
  LoadAddressMisaligned: 4,
  LoadAccessFault: 5,
  StoreAddressMisaligned: 6,
  StoreAccessFault: 7,
  EcallFromU: 8,
  EcallFromS: 9,
  EcallFromM: 11,
  InstructionPageFault: 12,
  LoadPageFault: 13,
  StorePageFault: 15,
} as const;

/** One of the exception codes in {@link Cause}. */
export type CauseCode = typeof Cause[keyof typeof Cause];

/** Interrupt numbers (bit positions in mip/mie, mcause with bit 31 set). */
export const Irq = {
  /** Supervisor software interrupt (mip.SSIP, written by software). */
  SSI: 1,
  /** Machine software interrupt (CLINT msip). */
  MSI: 3,
  /** Supervisor timer interrupt (mip.STIP, written by M-mode software: no Sstc). */
  STI: 5,
  /** Machine timer interrupt (CLINT mtimecmp). */
  MTI: 7,
  /** Supervisor external interrupt (PLIC S context, ORed with software's SEIP). */
  SEI: 9,
  /** Machine external interrupt (PLIC). */
  MEI: 11,
} as const;

/** mstatus bit masks (privileged spec 3.1.6). */
export const MSTATUS = {
  SIE: 1 << 1,
  MIE: 1 << 3,
  SPIE: 1 << 5,
  MPIE: 1 << 7,
  SPP: 1 << 8,
  VS: 3 << 9,
  MPP: 3 << 11,
  FS: 3 << 13,
  XS: 3 << 15,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
  SD: 1 << 31,
} as const;

/** A synchronous exception on its way to trap entry; thrown from slow paths only. */
export class GuestTrap {
  /** Exception code from {@link Cause}. */
  readonly cause: CauseCode;
  /** Value for mtval (address or instruction bits). */
  readonly tval: number;
  /** Creates the trap. */
  constructor(cause: CauseCode, tval: number) {
    this.cause = cause;
    this.tval = tval >>> 0;
  }
}

/**
 * Takes exception or interrupt `cause` raised at `epc`, in S mode when it is
 * delegated (medeleg/mideleg) and the hart is not in M mode, else in M mode
 * (privileged spec 3.1.8, 3.1.6.1, 4.1.1; QEMU 7.2 `riscv_cpu_do_interrupt`).
 * Like QEMU's `riscv_cpu_set_mode`, the mode change drops any LR reservation.
 */
export function enterTrap(
  s: CpuState,
  cause: number,
  isInterrupt: boolean,
  tval: number,
  epc: number,
): void {
  const deleg = isInterrupt ? s.mideleg : s.medeleg;
  let st = s.mstatus;
  if (s.priv <= PRV_S && ((deleg >>> cause) & 1) !== 0) {
    st = (st & MSTATUS.SIE) !== 0 ? st | MSTATUS.SPIE : st & ~MSTATUS.SPIE;
    st = (st & ~(MSTATUS.SPP | MSTATUS.SIE)) | (s.priv << 8);
    s.mstatus = st >>> 0;
    s.scause = (isInterrupt ? (0x8000_0000 | cause) : cause) >>> 0;
    s.sepc = epc >>> 0;
    s.stval = tval >>> 0;
    s.priv = PRV_S;
    s.pc = trapVector(s.stvec, cause, isInterrupt);
  } else {
    // 3.1.15: mepc gets the virtual address of the interrupted or faulting instruction.
    st = (st & MSTATUS.MIE) !== 0 ? st | MSTATUS.MPIE : st & ~MSTATUS.MPIE;
    st = (st & ~(MSTATUS.MPP | MSTATUS.MIE)) | (s.priv << 11);
    s.mstatus = st >>> 0;
    s.mcause = (isInterrupt ? (0x8000_0000 | cause) : cause) >>> 0;
    s.mepc = epc >>> 0;
    // 3.1.16: mtval is written with exception-specific information, else zero.
    s.mtval = tval >>> 0;
    s.priv = PRV_M;
    s.pc = trapVector(s.mtvec, cause, isInterrupt);
  }
  s.waiting = 0;
  s.resValid = 0;
  s.resAddr = 0;
}

/** 3.1.7: vectored mode sends asynchronous interrupts to BASE + 4 * cause. */
function trapVector(tvec: number, cause: number, isInterrupt: boolean): number {
  const base = tvec & ~3;
  return ((tvec & 3) === 1 && isInterrupt ? base + 4 * cause : base) >>> 0;
}

/**
 * Executes MRET as QEMU 7.2 does (3.3.2): priv<-MPP, MIE<-MPIE, MPIE<-1, MPP<-U.
 * QEMU 7.2 leaves MPRV alone (the 1.12 rule clearing it came later). The
 * caller has checked M mode, mepc alignment and the PMP rule.
 */
export function doMret(s: CpuState): void {
  let st = s.mstatus;
  const mpp = (st & MSTATUS.MPP) >>> 11;
  st = (st & MSTATUS.MPIE) !== 0 ? st | MSTATUS.MIE : st & ~MSTATUS.MIE;
  st |= MSTATUS.MPIE;
  st &= ~MSTATUS.MPP; // least-privileged supported mode: U (00)
  s.mstatus = st >>> 0;
  s.priv = mpp;
  s.pc = s.mepc >>> 0;
  s.resValid = 0;
  s.resAddr = 0;
}

/** Executes SRET as QEMU 7.2 does: priv<-SPP, SIE<-SPIE, SPIE<-1, SPP<-U (checks by the caller). */
export function doSret(s: CpuState): void {
  let st = s.mstatus;
  const spp = (st & MSTATUS.SPP) >>> 8;
  st = (st & MSTATUS.SPIE) !== 0 ? st | MSTATUS.SIE : st & ~MSTATUS.SIE;
  st |= MSTATUS.SPIE;
  st &= ~MSTATUS.SPP;
  s.mstatus = st >>> 0;
  s.priv = spp;
  s.pc = s.sepc >>> 0;
  s.resValid = 0;
  s.resAddr = 0;
}

/** Index of the lowest set bit of a non-zero uint32 (QEMU's ctz64 on the pending set). */
function lowestBit(v: number): number {
  return 31 - Math.clz32(v & -v);
}

/**
 * The interrupt to take now, or -1 (3.1.9; QEMU 7.2 `riscv_cpu_local_irq_pending`
 * without AIA): pending & enabled interrupts not delegated go to M when
 * priv < M or MIE; then delegated ones go to S when priv < S, or priv = S
 * and SIE. Within a level QEMU 7.2 takes the lowest-numbered one.
 */
export function pendingInterrupt(s: CpuState): number {
  const pend = s.mip & s.mie;
  if (pend === 0) return -1;
  const m = pend & ~s.mideleg;
  if (m !== 0 && (s.priv < PRV_M || (s.mstatus & MSTATUS.MIE) !== 0)) return lowestBit(m);
  const sv = pend & s.mideleg;
  if (
    sv !== 0 && (s.priv < PRV_S || (s.priv === PRV_S && (s.mstatus & MSTATUS.SIE) !== 0))
  ) return lowestBit(sv);
  return -1;
}

/** Legal values of mstatus.MPP for this hart (M, S and U; the reserved 2 becomes U). */
export function legalizeMpp(st: number): number {
  const mpp = (st & MSTATUS.MPP) >>> 11;
  return mpp !== 2 ? st : st & ~MSTATUS.MPP;
}
