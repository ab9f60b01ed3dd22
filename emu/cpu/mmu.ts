/**
 * The slow memory path and the software TLB: Sv32 translation (privileged
 * spec 4.3, with A/D bits and faults as QEMU 7.2's `get_physical_address`
 * handles them), PMP checks ({@link Pmp}), MMIO, misaligned accesses (split
 * into bytes, no trap, as QEMU 7.2 does) and bus faults as access-fault traps.
 *
 * The run loop handles RAM accesses inline: directly when translation is the
 * identity and PMP cannot refuse, else through the TLB arrays here, which map
 * a virtual page to a RAM offset per access kind and privilege. A miss comes
 * here, walks, checks, and fills the entry when the whole page may be cached.
 *
 * @module
 */

import type { AccessSize, Bus } from "../bus.ts";
import { BusError } from "../errors.ts";
import type { Ram } from "../ram.ts";
import { Pmp, PMP_R, PMP_RWX, PMP_W, PMP_X } from "./pmp.ts";
import { type CpuState, PRV_M, PRV_S, PRV_U } from "./state.ts";
import { Cause, GuestTrap, MSTATUS } from "./trap.ts";

/** Kind of access being translated (selects the fault cause and the TLB bank). */
export const Access = { Fetch: 0, Load: 1, Store: 2 } as const;
/** One of {@link Access}. */
export type AccessKind = typeof Access[keyof typeof Access];

/** TLB entries per (access kind, privilege) bank; direct-mapped on the low VPN bits. */
export const TLB_SIZE = 256;
/** Offset of the bank for access `kind` at effective privilege `mode` in {@link Mmu.tlbTag}. */
export const tlbBank = (kind: AccessKind, mode: number): number => (kind * 4 + mode) * TLB_SIZE;

const ACCESS_FAULT = [Cause.InstructionAccessFault, Cause.LoadAccessFault, Cause.StoreAccessFault];
const PAGE_FAULT = [Cause.InstructionPageFault, Cause.LoadPageFault, Cause.StorePageFault];
/** PMP permission bit each access kind needs (QEMU: 1 << MMUAccessType). */
const PMP_NEED = [PMP_X, PMP_R, PMP_W];

/** Sv32 PTE bits (4.3.1). */
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;
/** mstatus bits that change translation; a change flushes the TLB (QEMU's write_mstatus). */
const VM_MSTATUS = MSTATUS.MXR | MSTATUS.SUM | MSTATUS.MPRV | MSTATUS.MPP;
const TWO32 = 0x1_0000_0000;

/** Memory access with translation, protection and fault reporting for one hart. */
export class Mmu {
  /** Hart state (privilege, satp, mstatus, PMP registers). */
  readonly state: CpuState;
  /** System bus. */
  readonly bus: Bus;
  /** The RAM behind the bus. */
  readonly ram: Ram;
  /** Decoded PMP ranges. */
  readonly pmp: Pmp;
  /** TLB tags: the VPN cached in each slot, or -1; banks by {@link tlbBank}. */
  readonly tlbTag: Int32Array = new Int32Array(3 * 4 * TLB_SIZE).fill(-1);
  /** TLB data: RAM offset of a byte = (virtual address + addend) | 0. */
  readonly tlbAdd: Int32Array = new Int32Array(3 * 4 * TLB_SIZE);
  /** Addend of the page {@link Mmu.fetchPage} last resolved. */
  fetchAdd = 0;
  /** True after a slow access that reached a device (the run loop then ends its block). */
  mmio = false;
  /** satp and translation bits of mstatus the TLB was filled under. */
  private ctxSatp = 0;
  private ctxMstatus = 0;

  /** Creates the MMU for the hart owning `state`. */
  constructor(state: CpuState, bus: Bus) {
    this.state = state;
    this.bus = bus;
    this.ram = bus.ram;
    this.pmp = new Pmp(state);
  }

  /** Drops every cached translation (sfence.vma, satp/mstatus/PMP changes, state loads). */
  flush(): void {
    this.tlbTag.fill(-1);
    this.ctxSatp = this.state.satp;
    this.ctxMstatus = this.state.mstatus & VM_MSTATUS;
  }

  /** Re-derives PMP ranges and flushes the TLB: after PMP writes or a state load. */
  invalidate(): void {
    this.pmp.update();
    this.flush();
  }

  /** Flushes the TLB if satp or mstatus changed under it; the run loop calls this per block. */
  sync(): void {
    const s = this.state;
    if (s.satp !== this.ctxSatp || (s.mstatus & VM_MSTATUS) !== this.ctxMstatus) this.flush();
  }

  /** Privilege loads and stores are checked at: MPP when M mode sets MPRV (3.1.6.3). */
  dataMode(): number {
    const s = this.state;
    return s.priv === PRV_M && (s.mstatus & MSTATUS.MPRV) !== 0 ? (s.mstatus >>> 11) & 3 : s.priv;
  }

  /**
   * True when accesses at privilege `mode` need neither translation nor PMP
   * checks, so the run loop may index RAM directly: M mode with no locked
   * PMP entry (below M, even bare mode goes through the TLB for PMP), and no RAM page absent
   * (a postcopy destination: the TLB then holds only pages that arrived).
   */
  isDirect(mode: number): boolean {
    return mode === PRV_M && !this.pmp.anyLocked && this.ram.absent === null;
  }

  /** True when the hart translates with Sv32 at privilege `mode` (4.1.11). */
  private paged(mode: number): boolean {
    return mode !== PRV_M && (this.state.satp >>> 31) !== 0;
  }

  /**
   * Translates `vaddr` for an access of `kind` at privilege `mode`; returns
   * the physical address (up to 34 bits) and throws page faults. Sets
   * {@link Mmu.pageProt} to the kinds the PTE grants for the TLB.
   */
  translate(vaddr: number, kind: AccessKind, mode: number): number {
    vaddr >>>= 0;
    if (!this.paged(mode)) {
      this.pageProt = PMP_RWX;
      return vaddr;
    }
    const s = this.state;
    const mxr = (s.mstatus & MSTATUS.MXR) !== 0;
    const sum = (s.mstatus & MSTATUS.SUM) !== 0;
    let base = (s.satp & 0x3f_ffff) * 4096;
    for (let level = 1; level >= 0; level--) {
      const shift = 12 + 10 * level;
      const pteAddr = base + ((vaddr >>> shift) & 0x3ff) * 4;
      // QEMU checks the PTE read against PMP as an S-mode load: a refusal is an access fault.
      if (!this.pmpAllows(pteAddr, 4, Access.Load, PRV_S)) {
        throw new GuestTrap(ACCESS_FAULT[kind], vaddr);
      }
      let pte: number;
      try {
        if (pteAddr >= TWO32) throw new BusError(pteAddr, false);
        pte = this.bus.load(pteAddr, 4);
      } catch (e) {
        if (e instanceof BusError) throw new GuestTrap(PAGE_FAULT[kind], vaddr);
        throw e;
      }
      const ppn = pte >>> 10;
      if ((pte & PTE_V) === 0) break;
      const rwx = pte & (PTE_R | PTE_W | PTE_X);
      if (rwx === 0) {
        if ((pte & (PTE_D | PTE_A | PTE_U)) !== 0) break; // non-leaf with leaf-only bits
        base = ppn * 4096;
        continue;
      }
      if (rwx === PTE_W || rwx === (PTE_W | PTE_X)) break; // reserved encodings
      if ((pte & PTE_U) !== 0) {
        if (mode !== PRV_U && (!sum || kind === Access.Fetch)) break;
      } else if (mode !== PRV_S) break;
      if (level === 1 && (ppn & 0x3ff) !== 0) break; // misaligned superpage
      if (kind === Access.Load && (pte & PTE_R) === 0 && !(mxr && (pte & PTE_X) !== 0)) break;
      if (kind === Access.Store && (pte & PTE_W) === 0) break;
      if (kind === Access.Fetch && (pte & PTE_X) === 0) break;
      const updated = (pte | PTE_A | (kind === Access.Store ? PTE_D : 0)) >>> 0;
      if (updated !== pte) {
        // QEMU 7.2 sets A (and D on a store) itself, but only in RAM: elsewhere it faults.
        if (pteAddr >= TWO32 || !this.ram.contains(pteAddr, 4)) break;
        this.bus.store(pteAddr, 4, updated);
      }
      let prot = 0;
      if ((pte & PTE_R) !== 0 || (mxr && (pte & PTE_X) !== 0)) prot |= PMP_R;
      // S mode never executes U pages, even when SUM let this walk in for data.
      if ((pte & PTE_X) !== 0 && ((pte & PTE_U) !== 0) === (mode === PRV_U)) prot |= PMP_X;
      // Write permission only once D is set, so the first store misses and sets it.
      if ((pte & PTE_W) !== 0 && (kind === Access.Store || (pte & PTE_D) !== 0)) prot |= PMP_W;
      this.pageProt = prot;
      const vpnLow = level === 1 ? (vaddr >>> 12) & 0x3ff : 0;
      return (ppn | vpnLow) * 4096 + (vaddr & 0xfff);
    }
    throw new GuestTrap(PAGE_FAULT[kind], vaddr);
  }

  /** PTE permissions of the last {@link Mmu.translate} as PMP_R/W/X bits. */
  pageProt = 0;

  /** PMP check of `size` bytes at physical `pa` for `kind` at `mode`. */
  private pmpAllows(pa: number, size: number, kind: AccessKind, mode: number): boolean {
    if (pa >= TWO32) return mode === PRV_M && !this.pmp.anyLocked;
    const a = this.pmp.allowed(pa, size, mode);
    return a >= 0 && (a & PMP_NEED[kind]) !== 0;
  }

  /**
   * Full translation of one access: walk, then PMP (access fault), then
   * caching the page in the TLB when it is RAM and PMP treats it uniformly.
   * Returns the physical address, below 2^32 (beyond that: access fault).
   */
  private resolve(vaddr: number, size: number, kind: AccessKind, mode: number): number {
    const pa = this.translate(vaddr, kind, mode);
    if (pa >= TWO32 || !this.pmpAllows(pa, size, kind, mode)) {
      throw new GuestTrap(ACCESS_FAULT[kind], vaddr);
    }
    const paPage = pa - (pa & 0xfff);
    const ram = this.ram;
    if (
      ram.contains(paPage, 4096) && this.pmp.uniformPage(paPage) &&
      ram.isPresent(paPage - ram.base)
    ) {
      const pmpProt = this.pmp.allowed(paPage, 4096, mode);
      const prot = this.pageProt & (pmpProt < 0 ? 0 : pmpProt);
      const vpn = vaddr >>> 12;
      const slot = vpn & (TLB_SIZE - 1);
      const add = ((paPage - ram.base) - (vaddr - (vaddr & 0xfff))) | 0;
      if ((prot & PMP_X) !== 0) this.fill(tlbBank(Access.Fetch, mode) + slot, vpn, add);
      if ((prot & PMP_R) !== 0) this.fill(tlbBank(Access.Load, mode) + slot, vpn, add);
      if ((prot & PMP_W) !== 0) this.fill(tlbBank(Access.Store, mode) + slot, vpn, add);
    }
    return pa;
  }

  private fill(k: number, vpn: number, add: number): void {
    this.tlbTag[k] = vpn;
    this.tlbAdd[k] = add;
  }

  /**
   * Resolves the page holding `pc` for fetching; true if it is a cacheable RAM
   * page, its addend then in {@link Mmu.fetchAdd}. Throws fetch faults.
   */
  fetchPage(pc: number): boolean {
    const mode = this.state.priv;
    const vpn = pc >>> 12;
    const k = tlbBank(Access.Fetch, mode) + (vpn & (TLB_SIZE - 1));
    if (this.tlbTag[k] === vpn) {
      this.fetchAdd = this.tlbAdd[k];
      return true;
    }
    if (this.isDirect(mode)) return false; // the run loop's direct window already covers RAM
    this.resolve(pc, 4, Access.Fetch, mode);
    if (this.tlbTag[k] !== vpn) return false;
    this.fetchAdd = this.tlbAdd[k];
    return true;
  }

  /** Fetches an instruction word outside the inline RAM path. */
  fetch(pc: number): number {
    const pa = this.resolve(pc, 4, Access.Fetch, this.state.priv);
    try {
      return this.bus.load(pa, 4) | 0;
    } catch (e) {
      throw this.fault(e, Access.Fetch, pc);
    }
  }

  /** Loads `size` bytes at `vaddr`, sign- or zero-extended to an int32. */
  load(vaddr: number, size: AccessSize, signed: boolean): number {
    const mode = this.dataMode();
    let v: number;
    if (this.crossesPage(vaddr, size)) {
      v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.load((vaddr + i) >>> 0, 1, false);
      v >>>= 0;
    } else {
      const pa = this.resolve(vaddr, size, Access.Load, mode);
      this.mmio = !this.ram.contains(pa, size);
      try {
        v = this.bus.load(pa, size);
      } catch (e) {
        throw this.fault(e, Access.Load, vaddr);
      }
    }
    if (size === 4) return v | 0;
    const sh = size === 2 ? 16 : 24;
    return signed ? (v << sh) >> sh : v;
  }

  /** Stores the low `size` bytes of `value` at `vaddr`. */
  store(vaddr: number, size: AccessSize, value: number): void {
    const mode = this.dataMode();
    if (this.crossesPage(vaddr, size)) {
      // Both pages are translated before any byte is written, like QEMU's store_helper.
      this.resolve(vaddr, 1, Access.Store, mode);
      this.resolve((vaddr + size - 1) >>> 0, 1, Access.Store, mode);
      for (let i = 0; i < size; i++) this.store((vaddr + i) >>> 0, 1, value >>> (8 * i));
      return;
    }
    const pa = this.resolve(vaddr, size, Access.Store, mode);
    this.mmio = !this.ram.contains(pa, size);
    try {
      this.bus.store(pa, size, value);
    } catch (e) {
      throw this.fault(e, Access.Store, vaddr);
    }
  }

  /**
   * Read-modify-write of an aligned word for AMOs outside the inline path. Like
   * QEMU 7.2 on one hart, the read comes first and faults as a load; the write
   * then faults as a store/AMO access.
   */
  amo(vaddr: number, update: (old: number) => number): number {
    const mode = this.dataMode();
    const pr = this.resolve(vaddr, 4, Access.Load, mode);
    let old: number;
    try {
      old = this.bus.load(pr, 4) | 0;
    } catch (e) {
      throw this.fault(e, Access.Load, vaddr);
    }
    const pw = this.resolve(vaddr, 4, Access.Store, mode);
    this.mmio = !this.ram.contains(pw, 4);
    try {
      this.bus.store(pw, 4, update(old));
    } catch (e) {
      throw this.fault(e, Access.Store, vaddr);
    }
    return old;
  }

  private crossesPage(vaddr: number, size: number): boolean {
    return (vaddr & 0xfff) + size > 0x1000 && !this.isDirect(this.dataMode());
  }

  private fault(e: unknown, kind: AccessKind, vaddr: number): unknown {
    return e instanceof BusError ? new GuestTrap(ACCESS_FAULT[kind], vaddr) : e;
  }
}
