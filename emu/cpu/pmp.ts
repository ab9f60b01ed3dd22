/**
 * Physical memory protection, 16 entries (privileged spec 3.7), as QEMU 7.2's
 * target/riscv/pmp.c implements it without ePMP: the cfg bytes and address
 * registers live in {@link CpuState}; the decoded ranges here are derived
 * from them and rebuilt after every pmpcfg/pmpaddr write or state load.
 *
 * @module
 */

import { type CpuState, PRV_M } from "./state.ts";

/** Number of PMP entries (QEMU's MAX_RISCV_PMPS). */
export const PMP_ENTRIES = 16;

/** cfg bits (3.7.1): R, W, X, A (2 bits), L. */
export const PMP_R = 0x01, PMP_W = 0x02, PMP_X = 0x04, PMP_L = 0x80;
const A_SHIFT = 3;
/** Address-matching modes (cfg.A). */
export const PmpMatch = { Off: 0, Tor: 1, Na4: 2, Napot: 3 } as const;

/** All of R, W and X (what M mode may do where no locked entry says otherwise). */
export const PMP_RWX = PMP_R | PMP_W | PMP_X;

/** The decoded PMP ranges of one hart and the checks QEMU 7.2 makes with them. */
export class Pmp {
  /** Start of each entry's range (QEMU's `pmp_state.addr[i].sa`). */
  private readonly sa = new Uint32Array(PMP_ENTRIES);
  /** Inclusive end of each entry's range (`ea`). */
  private readonly ea = new Uint32Array(PMP_ENTRIES);
  /** Entries whose A field is not OFF (QEMU's `num_rules`). */
  numRules = 0;
  /** True if some entry is locked, so PMP also restricts M mode. */
  anyLocked = false;
  private readonly state: CpuState;

  /** Creates the checker for the hart owning `state` (call {@link Pmp.update} after writes). */
  constructor(state: CpuState) {
    this.state = state;
    this.update();
  }

  /** Re-derives every range from pmpcfg/pmpaddr (QEMU's `pmp_update_rule` for all entries). */
  update(): void {
    const s = this.state;
    let rules = 0, locked = false;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const cfg = s.pmpcfg[i];
      const addr = s.pmpaddr[i];
      let sa = 0, ea = 0;
      switch ((cfg >>> A_SHIFT) & 3) {
        case PmpMatch.Off:
          sa = 0, ea = 0xffff_ffff;
          break;
        case PmpMatch.Tor:
          sa = i === 0 ? 0 : (s.pmpaddr[i - 1] << 2) >>> 0;
          ea = ((addr << 2) - 1) >>> 0; // wraps to 2^32-1 for pmpaddr 0, as QEMU's target_ulong does
          if (sa > ea) sa = ea = 0;
          break;
        case PmpMatch.Na4:
          sa = (addr << 2) >>> 0;
          ea = (sa + 3) >>> 0;
          break;
        case PmpMatch.Napot: {
          const a = ((addr << 2) | 3) >>> 0;
          sa = (a & (a + 1)) >>> 0;
          ea = (a | (a + 1)) >>> 0;
          break;
        }
      }
      this.sa[i] = sa;
      this.ea[i] = ea;
      if (((cfg >>> A_SHIFT) & 3) !== PmpMatch.Off) rules++;
      if ((cfg & PMP_L) !== 0) locked = true;
    }
    this.numRules = rules;
    this.anyLocked = locked;
  }

  /**
   * The R/W/X permissions (PMP_R | PMP_W | PMP_X) that mode `mode` has for the
   * `size` bytes at physical `addr`, or -1 if an entry covers them only in
   * part (QEMU 7.2 `pmp_hart_has_privs`: the lowest matching entry decides;
   * with no match, M mode may do everything and S/U nothing).
   */
  allowed(addr: number, size: number, mode: number): number {
    const s = this.state;
    if (this.numRules !== 0) {
      const last = (addr + size - 1) >>> 0;
      for (let i = 0; i < PMP_ENTRIES; i++) {
        const sa = this.sa[i], ea = this.ea[i];
        const first = addr >= sa && addr <= ea;
        const end = last >= sa && last <= ea;
        if (first !== end) return -1;
        const cfg = s.pmpcfg[i];
        if (first && ((cfg >>> A_SHIFT) & 3) !== PmpMatch.Off) {
          return mode !== PRV_M || (cfg & PMP_L) !== 0 ? cfg & PMP_RWX : PMP_RWX;
        }
      }
    }
    return mode === PRV_M ? PMP_RWX : 0;
  }

  /**
   * True if every byte of the 4 KiB page at `page` gets the same PMP decision,
   * so a TLB entry may cache it (QEMU's `pmp_is_range_in_tlb` giving a size of
   * at least a page).
   */
  uniformPage(page: number): boolean {
    if (this.numRules === 0) return true;
    const tsa = page >>> 0, tea = (page + 0xfff) >>> 0;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const sa = this.sa[i], ea = this.ea[i];
      let size = 0;
      if (sa >= tsa && ea <= tea) size = ea - sa + 1;
      else if (sa >= tsa && sa <= tea && ea >= tea) size = tea - sa + 1;
      else if (ea <= tea && ea >= tsa && sa <= tsa) size = ea - tsa + 1;
      if (size !== 0 && size < 0x1000) return false;
    }
    return true;
  }
}

/** Writes four cfg bytes of pmpcfg`reg`, skipping locked entries (QEMU 7.2 stores the byte as written). */
export function writePmpcfg(s: CpuState, reg: number, v: number): void {
  for (let k = 0; k < 4; k++) {
    const i = reg * 4 + k;
    if ((s.pmpcfg[i] & PMP_L) === 0) s.pmpcfg[i] = (v >>> (8 * k)) & 0xff;
  }
}

/** Writes pmpaddr`i` unless it, or a locked TOR entry above it, is locked (3.7.1.3). */
export function writePmpaddr(s: CpuState, i: number, v: number): void {
  if (i + 1 < PMP_ENTRIES) {
    const next = s.pmpcfg[i + 1];
    if ((next & PMP_L) !== 0 && ((next >>> A_SHIFT) & 3) === PmpMatch.Tor) return;
  }
  if ((s.pmpcfg[i] & PMP_L) === 0) s.pmpaddr[i] = v >>> 0;
}
