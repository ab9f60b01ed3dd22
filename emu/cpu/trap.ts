/**
 * Trap causes and trap entry/return (privileged spec 3.1.15-3.1.16, 3.3.2).
 * Exceptions raised deep in a slow memory path are thrown as {@link GuestTrap}
 * (a plain object, not an Error: no stack capture) and taken by the run loop.
 *
 * @module
 */

import { type CpuState, PRV_M, PRV_U } from "./state.ts";

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
  /** Supervisor software interrupt (reserved for S mode). */
  SSI: 1,
  /** Machine software interrupt (CLINT msip). */
  MSI: 3,
  /** Supervisor timer interrupt (reserved for S mode). */
  STI: 5,
  /** Machine timer interrupt (CLINT mtimecmp). */
  MTI: 7,
  /** Supervisor external interrupt (reserved for S mode). */
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
  MPP: 3 << 11,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
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
 * Enters the M-mode trap handler for exception or interrupt `cause` raised
 * at `epc` (3.1.6.1: MPIE<-MIE, MIE<-0, MPP<-priv; 3.1.7 mtvec modes).
 */
export function enterTrap(
  s: CpuState,
  cause: number,
  isInterrupt: boolean,
  tval: number,
  epc: number,
): void {
  // 3.1.15: "When a trap is taken into M-mode, mepc is written with the virtual
  // address of the instruction that was interrupted or that encountered the exception."
  s.mepc = epc >>> 0;
  s.mcause = (isInterrupt ? (0x8000_0000 | cause) : cause) >>> 0;
  // 3.1.16: mtval is written with exception-specific information, else zero.
  s.mtval = tval >>> 0;
  let st = s.mstatus;
  st = (st & MSTATUS.MIE) !== 0 ? st | MSTATUS.MPIE : st & ~MSTATUS.MPIE;
  st &= ~MSTATUS.MIE;
  st = (st & ~MSTATUS.MPP) | (s.priv << 11);
  s.mstatus = st >>> 0;
  s.priv = PRV_M;
  s.waiting = 0;
  const base = s.mtvec & ~3;
  // 3.1.7: vectored mode sends asynchronous interrupts to BASE + 4 * cause.
  s.pc = ((s.mtvec & 3) === 1 && isInterrupt ? base + 4 * cause : base) >>> 0;
}

/** Executes MRET (3.3.2): priv<-MPP, MIE<-MPIE, MPIE<-1, MPP<-U, MPRV cleared if leaving M. */
export function doMret(s: CpuState): void {
  let st = s.mstatus;
  const mpp = (st & MSTATUS.MPP) >>> 11;
  st = (st & MSTATUS.MPIE) !== 0 ? st | MSTATUS.MIE : st & ~MSTATUS.MIE;
  st |= MSTATUS.MPIE;
  st &= ~MSTATUS.MPP; // least-privileged supported mode: U (00)
  if (mpp !== PRV_M) st &= ~MSTATUS.MPRV;
  s.mstatus = st >>> 0;
  s.priv = mpp;
  s.pc = (s.mepc & ~3) >>> 0;
}

/**
 * The interrupt to take now, or -1 (3.1.9): pending & enabled, and either
 * below M mode or mstatus.MIE set. Priority MEI > MSI > MTI.
 */
export function pendingInterrupt(s: CpuState): number {
  const pend = s.mip & s.mie;
  if (pend === 0) return -1;
  if (s.priv === PRV_M && (s.mstatus & MSTATUS.MIE) === 0) return -1;
  if (pend & (1 << Irq.MEI)) return Irq.MEI;
  if (pend & (1 << Irq.MSI)) return Irq.MSI;
  if (pend & (1 << Irq.MTI)) return Irq.MTI;
  return -1;
}

/** Legal values of mstatus.MPP for this hart (M and U). */
export function legalizeMpp(st: number): number {
  const mpp = (st & MSTATUS.MPP) >>> 11;
  return mpp === PRV_M || mpp === PRV_U ? st : st & ~MSTATUS.MPP;
}
