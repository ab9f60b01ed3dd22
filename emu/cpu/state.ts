/**
 * The hart's architectural state as one flat plain record: everything that
 * affects the future of the guest and nothing derived (the decode cache lives
 * in RAM's side table and is rebuilt). A VMState description lists these
 * fields one by one, like QEMU's `vmstate_riscv_cpu` (section "cpu").
 *
 * @module
 */

/** Privilege level encodings (privileged spec 1.2, table 1.1). */
export const PRV_U = 0;
/** Supervisor mode. */
export const PRV_S = 1;
/** Machine mode. */
export const PRV_M = 3;

/** `misa` for RV32IMASU: MXL=1 (bit 30), extensions A (0), I (8), M (12), S (18), U (20). */
export const MISA_RV32IMASU = 0x4000_0000 | (1 << 0) | (1 << 8) | (1 << 12) | (1 << 18) |
  (1 << 20);

/**
 * Architectural state of one RV32 hart. Integers are stored as JS numbers:
 * CSRs are kept unsigned (`>>> 0`), `x` is an Int32Array (registers are bit
 * patterns; the VMSD fixes the wire width as uint32). 64-bit counters are
 * split in halves so every field is an exact 32-bit value.
 */
export interface CpuState {
  /** Integer registers x0..x31 (x0 always 0). */
  x: Int32Array;
  /** Program counter of the next instruction to execute. */
  pc: number;
  /** Current privilege level: {@link PRV_M}, {@link PRV_S} or {@link PRV_U}. */
  priv: number;
  /** 1 while stalled in WFI until an enabled interrupt is pending (QEMU's `halted`). */
  waiting: number;
  /** mstatus (sstatus is a view of it): SIE/MIE, SPIE/MPIE, SPP/MPP, VS, MPRV, SUM, MXR, TVM, TW, TSR. */
  mstatus: number;
  /** misa; read-only here but migrated, as QEMU does. */
  misa: number;
  /** mie: enabled interrupts (sie is the view of its bits delegated in mideleg). */
  mie: number;
  /** mip: pending interrupts, QEMU's `env.mip` (device lines through `Cpu.setIrq`, plus SSIP/STIP/SEIP written by software). */
  mip: number;
  /** mtvec: trap vector base and mode (0 direct, 1 vectored). */
  mtvec: number;
  /** mscratch: scratch register for M-mode trap handlers. */
  mscratch: number;
  /** mepc: pc of the trapping instruction. */
  mepc: number;
  /** mcause: trap cause, bit 31 set for interrupts. */
  mcause: number;
  /** mtval: faulting address or instruction bits. */
  mtval: number;
  /** medeleg: exceptions delegated to S mode. */
  medeleg: number;
  /** mideleg: interrupts delegated to S mode. */
  mideleg: number;
  /** mcounteren: which counters S and U mode may read (CY, TM, IR). */
  mcounteren: number;
  /** satp: MODE (bit 31, 1 = Sv32), ASID (30:22), root page table PPN (21:0). */
  satp: number;
  /** stvec: S-mode trap vector base and mode. */
  stvec: number;
  /** sscratch: scratch register for S-mode trap handlers. */
  sscratch: number;
  /** sepc: pc of the instruction that trapped into S mode. */
  sepc: number;
  /** scause: S-mode trap cause, bit 31 set for interrupts. */
  scause: number;
  /** stval: S-mode faulting address or instruction bits. */
  stval: number;
  /** scounteren: which counters U mode may read (with mcounteren). */
  scounteren: number;
  /** QEMU's `software_seip`: the SEIP value software wrote to mip (the PLIC's S line ORs in). */
  softwareSeip: number;
  /** mhartid: this hart's id (config, but migrated like QEMU's `mhartid`). */
  mhartid: number;
  /** Low 32 bits of mcycle. */
  cycleLo: number;
  /** High 32 bits of mcycle. */
  cycleHi: number;
  /** Low 32 bits of minstret. */
  instretLo: number;
  /** High 32 bits of minstret. */
  instretHi: number;
  /** PMP configuration bytes for entries 0..15 (pmpcfg0..3 pack four each). */
  pmpcfg: Uint8Array;
  /** PMP address registers pmpaddr0..15 (bits 33:2 of the address). */
  pmpaddr: Uint32Array;
  /** 1 if an LR reservation is held. */
  resValid: number;
  /** Physical address reserved by the last LR.W; 0 whenever `resValid` is 0. */
  resAddr: number;
}

/**
 * Creates a hart in its reset state (privileged spec 3.4). This literal is the one list of the
 * state's initial values: {@link resetCpuState} copies it.
 */
export function createCpuState(resetPc = 0x8000_0000, hartId = 0): CpuState {
  return {
    x: new Int32Array(32),
    pc: resetPc >>> 0,
    priv: PRV_M,
    waiting: 0,
    mstatus: 0,
    misa: MISA_RV32IMASU,
    mie: 0,
    mip: 0,
    mtvec: 0,
    mscratch: 0,
    mepc: 0,
    mcause: 0,
    mtval: 0,
    medeleg: 0,
    mideleg: 0,
    mcounteren: 0,
    satp: 0,
    stvec: 0,
    sscratch: 0,
    sepc: 0,
    scause: 0,
    stval: 0,
    scounteren: 0,
    softwareSeip: 0,
    mhartid: hartId >>> 0,
    cycleLo: 0,
    cycleHi: 0,
    instretLo: 0,
    instretHi: 0,
    pmpcfg: new Uint8Array(16),
    pmpaddr: new Uint32Array(16),
    resValid: 0,
    resAddr: 0,
  };
}

/**
 * Resets `s` in place to {@link createCpuState}'s values (M mode, MIE=0, MPRV=0, mcause=0,
 * pc=`resetPc`, no reservation, not waiting), keeping `mhartid`, `misa` (the machine's
 * configuration: a `qemu-virt` hart reports QEMU's extensions) and the device-driven `mip`.
 */
export function resetCpuState(s: CpuState, resetPc = 0x8000_0000): void {
  const fresh = createCpuState(resetPc, s.mhartid);
  for (const k of Object.keys(fresh) as (keyof CpuState)[]) {
    if (k === "mip" || k === "misa") continue; // device-driven / configuration
    const v = fresh[k];
    if (ArrayBuffer.isView(v)) (s[k] as Uint8Array).set(v as Uint8Array);
    else (s as unknown as Record<string, unknown>)[k] = v;
  }
}

/** Names of every field of {@link CpuState}, in creation order (derived: never listed twice). */
export const CPU_STATE_FIELDS: readonly (keyof CpuState)[] = Object.freeze(
  Object.keys(createCpuState()) as (keyof CpuState)[],
);

const TWO32 = 0x1_0000_0000;

/** Adds `n` to the 64-bit minstret held as two uint32 halves. */
export function addInstret(s: CpuState, n: number): void {
  const lo = s.instretLo + n;
  if (lo >= TWO32) {
    s.instretLo = lo - TWO32;
    s.instretHi = (s.instretHi + 1) >>> 0;
  } else s.instretLo = lo;
}

/** Adds `n` to the 64-bit mcycle held as two uint32 halves. */
export function addCycle(s: CpuState, n: number): void {
  const lo = s.cycleLo + n;
  if (lo >= TWO32) {
    s.cycleLo = lo - TWO32;
    s.cycleHi = (s.cycleHi + 1) >>> 0;
  } else s.cycleLo = lo;
}
