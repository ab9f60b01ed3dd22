/**
 * The slow memory path: address translation (identity until Sv32 exists),
 * MMIO, misaligned accesses (split into bytes, no trap, as QEMU 7.2 does),
 * and conversion of bus faults into access-fault traps. The run loop handles
 * aligned RAM accesses inline and comes here for everything else.
 *
 * @module
 */

import type { AccessSize, Bus } from "../bus.ts";
import { BusError } from "../errors.ts";
import { type CpuState, PRV_M } from "./state.ts";
import { Cause, GuestTrap } from "./trap.ts";

/** Kind of access being translated (selects the fault cause). */
export const Access = { Fetch: 0, Load: 1, Store: 2 } as const;
/** One of {@link Access}. */
export type AccessKind = typeof Access[keyof typeof Access];

const ACCESS_FAULT = [Cause.InstructionAccessFault, Cause.LoadAccessFault, Cause.StoreAccessFault];

/** Memory access with translation and fault reporting for one hart. */
export class Mmu {
  /** Hart state (privilege, satp, mstatus.MPRV). */
  readonly state: CpuState;
  /** System bus. */
  readonly bus: Bus;

  /** Creates the MMU for the hart owning `state`. */
  constructor(state: CpuState, bus: Bus) {
    this.state = state;
    this.bus = bus;
  }

  /**
   * True when virtual == physical for data accesses and fetches, so the run
   * loop may use its inline RAM paths. Sv32 (privileged spec 4.3) will return
   * false when satp.MODE=1 and the effective privilege is below M.
   */
  isIdentity(): boolean {
    return this.state.priv === PRV_M || (this.state.satp >>> 31) === 0;
  }

  /**
   * Translates `vaddr` for an access of `kind`. Identity today; Sv32 will
   * walk the page table here (4.3.2 steps 1-8) and throw page faults.
   */
  translate(vaddr: number, _kind: AccessKind): number {
    return vaddr >>> 0;
  }

  /** Fetches an instruction word outside the inline RAM path. */
  fetch(pc: number): number {
    const pa = this.translate(pc, Access.Fetch);
    try {
      return this.bus.load(pa, 4) | 0;
    } catch (e) {
      throw this.fault(e, Access.Fetch, pc);
    }
  }

  /** Loads `size` bytes at `vaddr`, sign- or zero-extended to an int32. */
  load(vaddr: number, size: AccessSize, signed: boolean): number {
    const pa = this.translate(vaddr, Access.Load);
    let v: number;
    try {
      v = this.bus.load(pa, size);
    } catch (e) {
      throw this.fault(e, Access.Load, vaddr);
    }
    if (size === 4) return v | 0;
    const sh = size === 2 ? 16 : 24;
    return signed ? (v << sh) >> sh : v;
  }

  /** Stores the low `size` bytes of `value` at `vaddr`. */
  store(vaddr: number, size: AccessSize, value: number): void {
    const pa = this.translate(vaddr, Access.Store);
    try {
      this.bus.store(pa, size, value);
    } catch (e) {
      throw this.fault(e, Access.Store, vaddr);
    }
  }

  /**
   * Read-modify-write of an aligned word for AMOs outside RAM; faults are
   * store/AMO access faults (3.7.1) even for the read half.
   */
  amo(vaddr: number, update: (old: number) => number): number {
    const pa = this.translate(vaddr, Access.Store);
    try {
      const old = this.bus.load(pa, 4) | 0;
      this.bus.store(pa, 4, update(old));
      return old;
    } catch (e) {
      throw this.fault(e, Access.Store, vaddr);
    }
  }

  private fault(e: unknown, kind: AccessKind, vaddr: number): unknown {
    return e instanceof BusError ? new GuestTrap(ACCESS_FAULT[kind], vaddr) : e;
  }
}
