/**
 * The RV32IMA hart with M, S and U modes: a flat {@link CpuState} plus a run
 * loop that executes up to `budget` instructions with decoded ops cached per
 * RAM word, aligned RAM accesses inline (directly in M mode, through the
 * MMU's TLB arrays under Sv32 or PMP), and interrupts checked between blocks.
 * Time is an input (a callback), so a run is deterministic given state, RAM
 * and devices.
 *
 * @module
 */

import type { Bus } from "../bus.ts";
import type { Ram } from "../ram.ts";
import { amoResult, div, divu, mulh, mulhsu, mulhu, rem, remu } from "./alu.ts";
import { type CsrHost, execCsr } from "./csr.ts";
import { decode } from "./decode.ts";
import { HOT, HOT_SLOTS, JitBlock, JitCache, TABLE_SIZE } from "./jit/cache.ts";
import { Access, Mmu, TLB_SIZE, tlbBank } from "./mmu.ts";
import {
  addCycle,
  addInstret,
  type CpuState,
  createCpuState,
  PRV_M,
  PRV_S,
  PRV_U,
  resetCpuState,
} from "./state.ts";
import {
  Cause,
  doMret,
  doSret,
  enterTrap,
  GuestTrap,
  Irq,
  MSTATUS,
  pendingInterrupt,
} from "./trap.ts";

/** Instructions per block: interrupts, exit requests and WFI are checked between blocks. */
export const BLOCK_SIZE = 4096;

/**
 * Whether machines translate hot code unless told otherwise (`run --translate` / `--interpret`).
 * The translator is exact to the instruction (differential tests), several times faster on hot
 * loops and about even on the Linux boot (docs/benchmarks.md), but off by default: with it on, the
 * session run of `incoming --run` let no timer of the event loop fire until its 10^9 cycles were
 * done (tests/repl/commands/migrate_commands_test.ts "incoming --run is a session run" polls with
 * setTimeout and then waits forever), so Ctrl-C could not stop it; not yet understood.
 */
export const DEFAULT_TRANSLATE = false;

/** Why the last {@link Cpu.run} returned. */
export type StopReason = "budget" | "wfi" | "exit" | "mmio";

/** Construction options for {@link Cpu}. */
export interface CpuOptions {
  /** pc after reset (default: RAM base). */
  resetPc?: number;
  /** mhartid (default 0). */
  hartId?: number;
  /** Source of the `time` CSR; default: the instruction count (one tick per instruction). */
  time?: () => number;
  /** Translate hot code to JavaScript ({@link JitCache}); default false: interpret everything. */
  translate?: boolean;
}

const TWO32 = 0x1_0000_0000;
const HOT_MASK = HOT_SLOTS - 1;
const TABLE_MASK = TABLE_SIZE - 1;
/** Stand-ins for the translator's counters while interpreting only (never read then). */
const NO_HOT = new Uint16Array(HOT_SLOTS), NO_ENTRY = new Uint8Array(HOT_SLOTS);

/** One hart attached to a bus; owns its state record, never its devices. */
export class Cpu implements CsrHost {
  /** All architectural state (what migration saves). */
  readonly state: CpuState;
  /** The system bus. */
  readonly bus: Bus;
  /** The RAM behind the bus (inline fast paths). */
  readonly ram: Ram;
  /** Slow memory path with translation. */
  readonly mmu: Mmu;
  /** Source of the `time` CSR, supplied by the machine (wiring, not state). */
  timeSource: () => number;
  /** Why the last run stopped. */
  stopReason: StopReason = "budget";
  /** Level of the PLIC's S-mode external interrupt line (wiring, re-driven after a load). */
  seipLine = false;
  private readonly resetPc: number;
  /**
   * Return from {@link Cpu.run} after each MMIO access ("mmio"), so the machine re-reads device
   * deadlines the access may have moved: where a run stops then never depends on its budget.
   */
  stopAfterMmio = false;
  private exitRequested = false;
  private mmioHit = false;
  /** Instructions retired in the current block but not yet added to the counters. */
  private inflight = 0;
  /** Translated blocks, or null when interpreting only (the reference). */
  private jit: JitCache | null = null;
  /** Set by the interpreter when it ended a block at a jump so the translator can take over. */
  private jumped = false;
  /**
   * One bit per RAM word covered by translated code (all zero while interpreting), tested by
   * every inline store; allocated once so the interpreter's store path never changes shape.
   */
  private readonly codeBits: Uint32Array;

  /** Creates a hart in reset state on `bus`. */
  constructor(bus: Bus, opts: CpuOptions = {}) {
    this.bus = bus;
    this.ram = bus.ram;
    this.resetPc = (opts.resetPc ?? bus.ram.base) >>> 0;
    this.state = createCpuState(this.resetPc, opts.hartId ?? 0);
    this.mmu = new Mmu(this.state, bus);
    this.timeSource = opts.time ?? (() => this.instret);
    this.codeBits = new Uint32Array((bus.ram.size >>> 7) + 1);
    this.setTranslate(opts.translate ?? false);
  }

  /**
   * Turns the block translator on or off; the guest's behaviour is identical either way (only
   * speed differs), so this may change at any instruction boundary, e.g. between runs.
   * `threshold`: jumps to a target before it is translated (1: everything, for tests).
   */
  setTranslate(on: boolean, threshold = HOT): void {
    if (on && this.jit !== null && this.jit.threshold === threshold) return;
    this.jit?.flush();
    this.jit = null;
    this.ram.codeWatch = null;
    if (on) {
      const jit = new JitCache(this.ram, this.codeBits, threshold);
      this.jit = jit;
      this.ram.codeWatch = (off, len) => jit.touched(off, len);
    }
  }

  /** True while hot code runs translated. */
  get translating(): boolean {
    return this.jit !== null;
  }

  /** Blocks translated so far (0 when interpreting). */
  get translatedBlocks(): number {
    return this.jit?.translated ?? 0;
  }

  /** A store hit a word of translated code: drop the blocks that cover it. */
  private codeWritten(off: number): void {
    this.jit?.invalidateWord(off >>> 2);
  }

  /** Resets the hart (registers, CSRs, counters); RAM and devices are untouched. */
  reset(): void {
    resetCpuState(this.state, this.resetPc);
    this.inflight = 0;
    this.mmu.invalidate();
    this.jit?.flush();
  }

  /**
   * Drops everything derived from the state record (TLB, decoded PMP ranges);
   * call after replacing the state from outside, e.g. when a snapshot loads.
   */
  invalidateCaches(): void {
    this.mmu.invalidate();
    this.jit?.flush();
  }

  /** CsrHost: a pmpcfg/pmpaddr write changed the PMP rules. */
  pmpChanged(): void {
    this.mmu.invalidate();
  }

  /**
   * Drives interrupt line `irq` (an `Irq` number, e.g. Irq.MTI) in mip; devices call this.
   * SEIP is the PLIC's line ORed with the bit software wrote (QEMU 7.2's `riscv_cpu_set_irq`).
   */
  setIrq(irq: number, level: boolean): void {
    const bit = 1 << irq;
    const s = this.state;
    if (irq === Irq.SEI) {
      this.seipLine = level;
      level = level || s.softwareSeip !== 0;
    }
    s.mip = (level ? s.mip | bit : s.mip & ~bit) >>> 0;
  }

  /** Makes the current {@link Cpu.run} return at the next block boundary (e.g. HTIF exit). */
  requestExit(): void {
    this.exitRequested = true;
  }

  /** minstret including instructions of the block in flight (for time callbacks and MMIO). */
  get instret(): number {
    return this.state.instretHi * TWO32 + this.state.instretLo + this.inflight;
  }

  /** mcycle including instructions of the block in flight. */
  get cycle(): number {
    return this.state.cycleHi * TWO32 + this.state.cycleLo + this.inflight;
  }

  /** The `time` CSR value (CsrHost). */
  readTime(): number {
    return this.timeSource();
  }

  /** True if the hart is stalled in WFI with no enabled interrupt pending. */
  get halted(): boolean {
    return this.state.waiting !== 0 && (this.state.mip & this.state.mie) === 0;
  }

  /** Executes exactly one instruction (or takes one trap); for debuggers and tests. */
  step(): number {
    return this.run(1);
  }

  /** Adds `n` retired instructions to minstret and mcycle and clears the in-flight count. */
  private retire(n: number): void {
    this.inflight = 0;
    if (n === 0) return;
    addInstret(this.state, n);
    addCycle(this.state, n);
  }

  /**
   * Runs up to `budget` instructions; returns how many were executed (retired
   * instructions plus exceptions taken). Stops early on WFI with nothing
   * pending, or after {@link Cpu.requestExit}; see {@link Cpu.stopReason}.
   */
  run(budget: number): number {
    const s = this.state;
    let pc = s.pc | 0;
    let done = 0;
    this.stopReason = "budget";
    this.mmioHit = false;
    while (done < budget) {
      if ((s.mip & s.mie) !== 0) {
        s.waiting = 0; // 3.3.3: WFI resumes on any enabled pending interrupt, even if MIE=0
        const irq = pendingInterrupt(s);
        if (irq >= 0) {
          enterTrap(s, irq, true, 0, pc);
          pc = s.pc | 0;
        }
      }
      if (this.exitRequested) {
        this.exitRequested = false;
        this.stopReason = "exit";
        break;
      }
      if (this.mmioHit) {
        this.mmioHit = false;
        this.stopReason = "mmio";
        break;
      }
      if (s.waiting !== 0) {
        this.stopReason = "wfi";
        break;
      }
      const n = budget - done < BLOCK_SIZE ? budget - done : BLOCK_SIZE;
      done += this.jit !== null ? this.blockJit(n, pc) : this.block(n, pc);
      pc = this.blockPc;
    }
    s.pc = pc >>> 0;
    return done;
  }

  /**
   * {@link Cpu.block} with the translator: runs translated blocks while their entry points are
   * in cached RAM pages and they fit in the budget, and the interpreter for everything else (cold
   * code, instructions the translator leaves out, accesses off the inline path). Returns at the
   * same events as the interpreter (traps, CSRs, MMIO, WFI...), so interrupts, exits and device
   * deadlines are seen at exactly the same instructions.
   */
  private blockJit(n: number, pcIn: number): number {
    const jit = this.jit!;
    const s = this.state;
    const x = s.x;
    const mmu = this.mmu;
    const base = this.ram.base | 0;
    const lim = this.ram.size;
    const tlbTag = mmu.tlbTag, tlbAdd = mmu.tlbAdd;
    const st = jit.st;
    const table = jit.table;
    const dec = this.ram.decoded;
    mmu.sync();
    const dmode = mmu.dataMode();
    const dd = mmu.isDirect(dmode);
    const lb = tlbBank(Access.Load, dmode), sb = tlbBank(Access.Store, dmode);
    const fDirect = mmu.isDirect(s.priv);
    const fbank = tlbBank(Access.Fetch, s.priv);
    let pc = pcIn;
    let i = 0;
    let pending = 0;
    while (i < n) {
      let off = -1;
      if (fDirect) off = (pc - base) | 0;
      else {
        const v = pc >>> 12, k = fbank + (v & (TLB_SIZE - 1));
        if (tlbTag[k] === v) off = (pc + tlbAdd[k]) | 0;
      }
      if ((off >>> 0) < lim && (off & 3) === 0) {
        const w = off >> 2;
        let b: JitBlock | undefined = table[w & TABLE_MASK];
        if (b.w !== w || dec[w] === 0) b = jit.lookup(w, pc, x, tlbTag, tlbAdd);
        if (b !== undefined && b.fn !== null && b.len <= n - i) {
          pc = b.fn(pc, dd, lb, sb, n - i);
          const k = st[0];
          i += k;
          pending += k;
          // Whatever stopped it (its end, a jump, an access it cannot do inline, a store into
          // code), the next block or the interpreter takes over at pc; a block that stops at
          // once (k = 0) leaves that instruction to the interpreter.
          if (k !== 0) continue;
        }
      }
      if (pending !== 0) {
        this.retire(pending);
        pending = 0;
      }
      this.jumped = false;
      i += this.block(n - i, pc);
      pc = this.blockPc;
      if (!this.jumped) break; // an event or the budget: back to run()
    }
    if (pending !== 0) this.retire(pending);
    this.blockPc = pc;
    return i;
  }

  /** pc after the last {@link Cpu.block} (a field, so a block returns two values without allocating). */
  private blockPc = 0;

  /**
   * Executes up to `n` instructions from `pc` as one block, taking at most one exception; returns
   * the instructions executed (retired plus the exception), the new pc in {@link Cpu.blockPc}. A
   * function of its own, so V8 optimises it whole instead of as an OSR'd inner loop that deopts
   * at every exit (the cold-start cost of the first Linux boot).
   */
  private block(n: number, pcIn: number): number {
    const s = this.state;
    const x = s.x;
    const ram = this.ram;
    const mmu = this.mmu;
    const m32 = ram.i32, u16 = ram.u16, i16 = ram.i16, u8 = ram.u8, i8 = ram.i8;
    const dec = ram.decoded;
    const dirty = ram.dirty;
    const base = ram.base | 0;
    const lim = ram.size;
    const tlbTag = mmu.tlbTag, tlbAdd = mmu.tlbAdd;
    const code = this.codeBits;
    const jumpStop = this.jit !== null;
    const hot = this.jit?.hot ?? NO_HOT, entry = this.jit?.entry ?? NO_ENTRY;
    const hotMin = this.jit?.threshold ?? HOT;
    let pc = pcIn;
    let extra = 0;
    // Per block (privilege, satp, mstatus and PMP only change at block ends): loads and
    // stores index RAM directly when that is exact, else through the TLB banks of their
    // privilege; fetches use a window, all of RAM when direct, else the current page.
    mmu.sync();
    const dmode = mmu.dataMode();
    const dDirect = mmu.isDirect(dmode);
    const lbank = tlbBank(Access.Load, dmode), sbank = tlbBank(Access.Store, dmode);
    const fDirect = mmu.isDirect(s.priv);
    const fbank = tlbBank(Access.Fetch, s.priv);
    let fStart = fDirect ? base : 0, fLen = fDirect ? lim : 0, fAdd = fDirect ? -base | 0 : 0;
    let i = 0;
    let tc = -1;
    let tv = 0;
    try {
      block: for (; i < n; i++) {
        x[0] = 0;
        let ins: number;
        let op: number;
        if (((pc - fStart) >>> 0) < fLen) {
          const w = ((pc + fAdd) | 0) >> 2;
          ins = m32[w];
          op = dec[w];
          if (op === 0) dec[w] = op = decode(ins);
        } else {
          // Another page: probe the fetch TLB inline, then ask the MMU (walk, PMP, fill).
          const v = pc >>> 12, k = fbank + (v & (TLB_SIZE - 1));
          let hit = !fDirect && tlbTag[k] === v;
          if (hit) fAdd = tlbAdd[k];
          else {
            this.inflight = i;
            hit = mmu.fetchPage(pc);
            if (hit) fAdd = mmu.fetchAdd;
          }
          if (hit) {
            fStart = pc & ~0xfff, fLen = 0x1000;
            const w = ((pc + fAdd) | 0) >> 2;
            ins = m32[w];
            op = dec[w];
            if (op === 0) dec[w] = op = decode(ins);
          } else {
            ins = mmu.fetch(pc);
            op = decode(ins);
          }
        }
        const rd = (ins >> 7) & 31;
        switch (op) {
          case 1: // LUI
            x[rd] = ins & 0xffff_f000;
            break;
          case 2: // AUIPC
            x[rd] = pc + (ins & 0xffff_f000);
            break;
          case 3: { // JAL
            const t = (pc + (((ins >> 31) << 20) | (ins & 0xff000) | ((ins >>> 9) & 0x800) |
              ((ins >>> 20) & 0x7fe))) | 0;
            if ((t & 3) !== 0) {
              tc = Cause.InstructionAddressMisaligned, tv = t;
              break block;
            }
            x[rd] = pc + 4;
            pc = t;
            if (
              jumpStop &&
              (entry[(t >>> 2) & HOT_MASK] !== 0 || ++hot[(t >>> 2) & HOT_MASK] >= hotMin)
            ) {
              i++;
              this.jumped = true;
              break block;
            }
            continue;
          }
          case 4: { // JALR
            const t = (x[(ins >> 15) & 31] + (ins >> 20)) & ~1;
            if ((t & 3) !== 0) {
              tc = Cause.InstructionAddressMisaligned, tv = t;
              break block;
            }
            x[rd] = pc + 4;
            pc = t;
            if (
              jumpStop &&
              (entry[(t >>> 2) & HOT_MASK] !== 0 || ++hot[(t >>> 2) & HOT_MASK] >= hotMin)
            ) {
              i++;
              this.jumped = true;
              break block;
            }
            continue;
          }
          case 5: // BEQ
          case 6: // BNE
          case 7: // BLT
          case 8: // BGE
          case 9: // BLTU
          case 10: { // BGEU
            const a = x[(ins >> 15) & 31], b = x[(ins >> 20) & 31];
            let taken: boolean;
            if (op === 5) taken = a === b;
            else if (op === 6) taken = a !== b;
            else if (op === 7) taken = a < b;
            else if (op === 8) taken = a >= b;
            else if (op === 9) taken = (a >>> 0) < (b >>> 0);
            else taken = (a >>> 0) >= (b >>> 0);
            if (taken) {
              const t = (pc + (((ins >> 31) << 12) | ((ins << 4) & 0x800) |
                ((ins >>> 20) & 0x7e0) | ((ins >>> 7) & 0x1e))) | 0;
              if ((t & 3) !== 0) {
                tc = Cause.InstructionAddressMisaligned, tv = t;
                break block;
              }
              pc = t;
              if (
                jumpStop &&
                (entry[(t >>> 2) & HOT_MASK] !== 0 || ++hot[(t >>> 2) & HOT_MASK] >= hotMin)
              ) {
                i++;
                this.jumped = true;
                break block;
              }
              continue;
            }
            break;
          }
          case 11: // LB
          case 12: // LH
          case 13: // LW
          case 14: // LBU
          case 15: { // LHU
            const a = (x[(ins >> 15) & 31] + (ins >> 20)) | 0;
            let off = (a - base) | 0;
            if (!dDirect) {
              const v = a >>> 12, k = lbank + (v & (TLB_SIZE - 1));
              off = tlbTag[k] === v ? (a + tlbAdd[k]) | 0 : -1;
            }
            if ((off >>> 0) < lim) {
              if (op === 13) {
                if ((off & 3) === 0) {
                  x[rd] = m32[off >> 2];
                  break;
                }
              } else if (op === 11) {
                x[rd] = i8[off];
                break;
              } else if (op === 14) {
                x[rd] = u8[off];
                break;
              } else if ((off & 1) === 0) {
                x[rd] = op === 12 ? i16[off >> 1] : u16[off >> 1];
                break;
              }
            }
            this.inflight = i;
            x[rd] = mmu.load(a, op === 13 ? 4 : op === 11 || op === 14 ? 1 : 2, op < 13);
            if (!mmu.mmio) break;
            this.mmioHit = this.stopAfterMmio;
            pc = pc + 4 | 0;
            i++;
            break block; // MMIO may have raised an interrupt or requested exit
          }
          case 16: // SB
          case 17: // SH
          case 18: { // SW
            const a = (x[(ins >> 15) & 31] + (((ins >> 25) << 5) | ((ins >>> 7) & 31))) | 0;
            let off = (a - base) | 0;
            if (!dDirect) {
              const vpn = a >>> 12, k = sbank + (vpn & (TLB_SIZE - 1));
              off = tlbTag[k] === vpn ? (a + tlbAdd[k]) | 0 : -1;
            }
            const v = x[(ins >> 20) & 31];
            if ((off >>> 0) < lim) {
              if (op === 18) {
                if ((off & 3) === 0) {
                  m32[off >> 2] = v;
                  dec[off >> 2] = 0;
                  dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);
                  if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) this.codeWritten(off);
                  break;
                }
              } else if (op === 16) {
                u8[off] = v;
                dec[off >> 2] = 0;
                dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);
                if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) this.codeWritten(off);
                break;
              } else if ((off & 1) === 0) {
                u16[off >> 1] = v;
                dec[off >> 2] = 0;
                dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);
                if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) this.codeWritten(off);
                break;
              }
            }
            this.inflight = i;
            mmu.store(a, op === 18 ? 4 : op === 16 ? 1 : 2, v);
            if (!mmu.mmio) break;
            this.mmioHit = this.stopAfterMmio;
            pc = pc + 4 | 0;
            i++;
            break block;
          }
          case 19: // ADDI
            x[rd] = x[(ins >> 15) & 31] + (ins >> 20);
            break;
          case 20: // SLTI
            x[rd] = x[(ins >> 15) & 31] < (ins >> 20) ? 1 : 0;
            break;
          case 21: // SLTIU
            x[rd] = (x[(ins >> 15) & 31] >>> 0) < ((ins >> 20) >>> 0) ? 1 : 0;
            break;
          case 22: // XORI
            x[rd] = x[(ins >> 15) & 31] ^ (ins >> 20);
            break;
          case 23: // ORI
            x[rd] = x[(ins >> 15) & 31] | (ins >> 20);
            break;
          case 24: // ANDI
            x[rd] = x[(ins >> 15) & 31] & (ins >> 20);
            break;
          case 25: // SLLI
            x[rd] = x[(ins >> 15) & 31] << ((ins >> 20) & 31);
            break;
          case 26: // SRLI
            x[rd] = x[(ins >> 15) & 31] >>> ((ins >> 20) & 31);
            break;
          case 27: // SRAI
            x[rd] = x[(ins >> 15) & 31] >> ((ins >> 20) & 31);
            break;
          case 28: // ADD
            x[rd] = x[(ins >> 15) & 31] + x[(ins >> 20) & 31];
            break;
          case 29: // SUB
            x[rd] = x[(ins >> 15) & 31] - x[(ins >> 20) & 31];
            break;
          case 30: // SLL
            x[rd] = x[(ins >> 15) & 31] << x[(ins >> 20) & 31];
            break;
          case 31: // SLT
            x[rd] = x[(ins >> 15) & 31] < x[(ins >> 20) & 31] ? 1 : 0;
            break;
          case 32: // SLTU
            x[rd] = (x[(ins >> 15) & 31] >>> 0) < (x[(ins >> 20) & 31] >>> 0) ? 1 : 0;
            break;
          case 33: // XOR
            x[rd] = x[(ins >> 15) & 31] ^ x[(ins >> 20) & 31];
            break;
          case 34: // SRL
            x[rd] = x[(ins >> 15) & 31] >>> x[(ins >> 20) & 31];
            break;
          case 35: // SRA
            x[rd] = x[(ins >> 15) & 31] >> x[(ins >> 20) & 31];
            break;
          case 36: // OR
            x[rd] = x[(ins >> 15) & 31] | x[(ins >> 20) & 31];
            break;
          case 37: // AND
            x[rd] = x[(ins >> 15) & 31] & x[(ins >> 20) & 31];
            break;
          case 38: // FENCE: single hart, memory is sequentially consistent
            break;
          case 39: // FENCE.I: every store already drops the decoded ops (and blocks) it overwrites
            if (jumpStop) this.jit!.flush(); // the guest asked: translate again from its bytes
            break;
          case 40: // ECALL
            tc = s.priv === PRV_U
              ? Cause.EcallFromU
              : s.priv === PRV_S
              ? Cause.EcallFromS
              : Cause.EcallFromM;
            tv = 0;
            break block;
          case 41: // EBREAK (QEMU 7.2 leaves mtval 0)
            tc = Cause.Breakpoint, tv = 0;
            break block;
          case 42: // MRET
            // QEMU 7.2 also refuses to return below M while PMP has no rule at all.
            if (
              s.priv !== PRV_M ||
              (mmu.pmp.numRules === 0 && ((s.mstatus & MSTATUS.MPP) >>> 11) !== PRV_M)
            ) {
              tc = Cause.IllegalInstruction, tv = ins;
              break block;
            }
            doMret(s);
            pc = s.pc | 0;
            i++;
            break block; // MIE may have changed
          case 70: // SRET
            // 3.1.6.5: SRET is illegal in U mode, and in S mode with mstatus.TSR.
            if (s.priv < PRV_S || (s.priv === PRV_S && (s.mstatus & MSTATUS.TSR) !== 0)) {
              tc = Cause.IllegalInstruction, tv = ins;
              break block;
            }
            doSret(s);
            pc = s.pc | 0;
            i++;
            break block;
          case 71: // SFENCE.VMA
            // Illegal in U mode, and in S mode with mstatus.TVM; flushes the whole TLB.
            if (s.priv < PRV_S || (s.priv === PRV_S && (s.mstatus & MSTATUS.TVM) !== 0)) {
              tc = Cause.IllegalInstruction, tv = ins;
              break block;
            }
            mmu.flush();
            pc = pc + 4 | 0;
            i++;
            break block; // the fetch window may be stale
          case 43: // WFI
            // QEMU 7.2: illegal in U mode (S exists), and in S mode with mstatus.TW.
            if (s.priv === PRV_U || (s.priv === PRV_S && (s.mstatus & MSTATUS.TW) !== 0)) {
              tc = Cause.IllegalInstruction, tv = ins;
              break block;
            }
            s.waiting = 1;
            pc = pc + 4 | 0;
            i++;
            break block;
          case 44: // CSRRW
          case 45: // CSRRS
          case 46: // CSRRC
          case 47: // CSRRWI
          case 48: // CSRRSI
          case 49: // CSRRCI
            this.retire(i);
            extra += i;
            i = 0;
            if (!execCsr(this, ins, op)) {
              tc = Cause.IllegalInstruction, tv = ins;
              break block;
            }
            extra++;
            pc = pc + 4 | 0;
            break block; // counters already retired; interrupt enables may have changed
          case 50: // MUL
            x[rd] = Math.imul(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 51: // MULH
            x[rd] = mulh(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 52: // MULHSU
            x[rd] = mulhsu(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 53: // MULHU
            x[rd] = mulhu(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 54: // DIV
            x[rd] = div(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 55: // DIVU
            x[rd] = divu(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 56: // REM
            x[rd] = rem(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 57: // REMU
            x[rd] = remu(x[(ins >> 15) & 31], x[(ins >> 20) & 31]);
            break;
          case 58: // LR.W
          case 59: // SC.W
          case 60: // AMOSWAP.W
          case 61: // AMOADD.W
          case 62: // AMOXOR.W
          case 63: // AMOAND.W
          case 64: // AMOOR.W
          case 65: // AMOMIN.W
          case 66: // AMOMAX.W
          case 67: // AMOMINU.W
          case 68: { // AMOMAXU.W
            const a = x[(ins >> 15) & 31];
            if ((a & 3) !== 0 && (op !== 59 || (s.resValid !== 0 && s.resAddr === a >>> 0))) {
              // As QEMU 7.2 on one hart (no CF_PARALLEL: an AMO is a load, then a store):
              // LR and AMOs fault as misaligned loads; an SC without the reservation just
              // fails, touching no memory.
              tc = Cause.LoadAddressMisaligned, tv = a;
              break block;
            }
            const src = x[(ins >> 20) & 31];
            let off = (a - base) | 0;
            if (!dDirect) {
              const v = a >>> 12, k = (op === 58 ? lbank : sbank) + (v & (TLB_SIZE - 1));
              off = tlbTag[k] === v ? (a + tlbAdd[k]) | 0 : -1;
            }
            const inRam = (off >>> 0) < lim;
            this.inflight = i;
            if (op === 58) {
              x[rd] = inRam ? m32[off >> 2] : mmu.load(a, 4, true);
              s.resValid = 1;
              s.resAddr = a >>> 0;
            } else if (op === 59) {
              if (s.resValid !== 0 && s.resAddr === a >>> 0) {
                if (inRam) {
                  m32[off >> 2] = src;
                  dec[off >> 2] = 0;
                  dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);
                  if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) this.codeWritten(off);
                } else mmu.store(a, 4, src);
                x[rd] = 0;
              } else x[rd] = 1;
              s.resValid = 0;
              s.resAddr = 0; // canonical: no address without a reservation
            } else if (inRam) {
              const old = m32[off >> 2];
              m32[off >> 2] = amoResult(op, old, src);
              dec[off >> 2] = 0;
              dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);
              if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) this.codeWritten(off);
              x[rd] = old;
            } else {
              x[rd] = mmu.amo(a, (old) => amoResult(op, old, src));
            }
            if (!inRam) {
              pc = pc + 4 | 0;
              i++;
              break block;
            }
            break;
          }
          default: // ILLEGAL
            tc = Cause.IllegalInstruction, tv = ins;
            break block;
        }
        pc = pc + 4 | 0;
      }
    } catch (e) {
      if (!(e instanceof GuestTrap)) {
        x[0] = 0;
        this.retire(i);
        s.pc = pc >>> 0;
        throw e;
      }
      tc = e.cause, tv = e.tval;
    }
    x[0] = 0;
    this.retire(i);
    let done = extra + i;
    if (tc >= 0) {
      // Precise exception: the faulting instruction did not retire but uses up budget.
      enterTrap(s, tc, false, tv, pc);
      pc = s.pc | 0;
      done++;
    }
    this.blockPc = pc;
    return done;
  }
}
