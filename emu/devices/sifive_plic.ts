/**
 * SiFive PLIC as QEMU 7.2's `virt` configures it: 96 sources (source 0 reserved), 7 priority
 * levels, hart config "MS" (context 0 = hart 0 M mode → MEIP, context 1 = hart 0 S mode →
 * SEIP), priorities at 0x4, pending at 0x1000, enables at 0x2000 (stride 0x80), thresholds and
 * claim/complete at 0x200000 (stride 0x1000).
 *
 * Sources are level-sensitive: a high line sets `pending` unless the source is claimed, and a
 * completion re-pends a source whose line is still high. (QEMU 7.2 latches `pending` on every
 * raise, even while claimed; for a level source both give the same interrupts.)
 *
 * Section `riscv_sifive_plic` v1: QEMU's VARRAY_UINT32 fields whose counts are configuration.
 *
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import { varray, vmsd } from "../../migration/vmstate/fields.ts";
import { vmstateUint32 } from "../../migration/vmstate/infos.ts";
import type { AccessSize, MmioDevice } from "../bus.ts";
import { type DeviceSection, type IrqLine, type SnapshotDevice, subword } from "./device.ts";

/** VIRT_IRQCHIP_NUM_SOURCES of QEMU 7.2. */
export const VIRT_PLIC_NUM_SOURCES = 96;
/** (1 << VIRT_IRQCHIP_NUM_PRIO_BITS) - 1. */
export const VIRT_PLIC_NUM_PRIORITIES = 7;
/** Priority registers (source 1 at this offset). */
export const PLIC_PRIORITY_BASE = 0x4;
/** Pending bits. */
export const PLIC_PENDING_BASE = 0x1000;
/** Enable bits of context 0. */
export const PLIC_ENABLE_BASE = 0x2000;
/** Distance between two contexts' enable bits. */
export const PLIC_ENABLE_STRIDE = 0x80;
/** Threshold of context 0 (claim/complete at +4). */
export const PLIC_CONTEXT_BASE = 0x200000;
/** Distance between two contexts' threshold registers. */
export const PLIC_CONTEXT_STRIDE = 0x1000;

/** The migrated PLIC state; the four counts are configuration, never read from a stream. */
export interface SifivePlicState {
  /** Number of sources including the reserved source 0. */
  numSources: number;
  /** Number of contexts (hart × mode targets). */
  numAddrs: number;
  /** 32-bit words per bitmap: ceil(numSources / 32). */
  bitfieldWords: number;
  /** Enable words in total: bitfieldWords × numAddrs. */
  numEnables: number;
  /** Priority per source. */
  sourcePriority: Uint32Array;
  /** Threshold per context. */
  targetPriority: Uint32Array;
  /** Pending bitmap. */
  pending: Uint32Array;
  /** Claimed (in service) bitmap. */
  claimed: Uint32Array;
  /** Enable bitmaps, `bitfieldWords` words per context. */
  enable: Uint32Array;
}

/** Reset state for a PLIC of `numSources` sources and `numAddrs` contexts. */
export function createPlicState(numSources: number, numAddrs: number): SifivePlicState {
  const bitfieldWords = (numSources + 31) >> 5;
  return {
    numSources,
    numAddrs,
    bitfieldWords,
    numEnables: bitfieldWords * numAddrs,
    sourcePriority: new Uint32Array(numSources),
    targetPriority: new Uint32Array(numAddrs),
    pending: new Uint32Array(bitfieldWords),
    claimed: new Uint32Array(bitfieldWords),
    enable: new Uint32Array(bitfieldWords * numAddrs),
  };
}

/** Wiring of the PLIC. */
export interface SifivePlicOptions {
  /** One output per context, e.g. `[meip, seip]` for virt's hart 0 ("MS"). */
  contexts: IrqLine[];
  /** Sources including source 0 (default 96). */
  numSources?: number;
  /** Highest priority (default 7). */
  numPriorities?: number;
}

function bit(words: Uint32Array, irq: number): boolean {
  return ((words[irq >> 5] >>> (irq & 31)) & 1) !== 0;
}

function setBit(words: Uint32Array, irq: number, on: boolean): void {
  const m = 1 << (irq & 31);
  words[irq >> 5] = on ? words[irq >> 5] | m : words[irq >> 5] & ~m;
}

/** Platform-level interrupt controller. */
export class SifivePlic implements MmioDevice, SnapshotDevice {
  /** Live state (replaced by {@link commit}). */
  state: SifivePlicState;
  private readonly outputs: IrqLine[];
  private readonly numPriorities: number;
  /** Input line levels: wiring, driven by the devices, never saved. */
  private readonly lines: Uint8Array;
  /** Pending bits as the last commit received them (until {@link settleLines}). */
  private committedPending: Uint32Array | undefined;

  constructor(opts: SifivePlicOptions) {
    const numSources = opts.numSources ?? VIRT_PLIC_NUM_SOURCES;
    if (numSources < 2 || numSources > 1024) throw new RangeError("PLIC needs 2..1024 sources");
    if (opts.contexts.length < 1) throw new RangeError("PLIC needs at least one context");
    this.outputs = opts.contexts;
    this.numPriorities = opts.numPriorities ?? VIRT_PLIC_NUM_PRIORITIES;
    this.state = createPlicState(numSources, opts.contexts.length);
    this.lines = new Uint8Array(numSources);
  }

  /** Power-on reset (line levels are left to the devices). */
  reset(): void {
    this.state = createPlicState(this.state.numSources, this.state.numAddrs);
    this.applyLines();
    this.update();
  }

  /** The input line of `source` to hand to a device (its `irq` option). */
  irqLine(source: number): IrqLine {
    if (source < 1 || source >= this.state.numSources) {
      throw new RangeError(`PLIC source ${source} is outside 1..${this.state.numSources - 1}`);
    }
    return (level) => this.setSource(source, level);
  }

  /** Drives input `source` to `level`. */
  setSource(source: number, level: boolean): void {
    this.lines[source] = level ? 1 : 0;
    if (level && !bit(this.state.claimed, source)) {
      setBit(this.state.pending, source, true);
    }
    this.update();
  }

  /** The highest-priority pending, enabled, unclaimed source above the threshold (0: none). */
  best(ctx: number): number {
    const s = this.state;
    let maxIrq = 0;
    let maxPrio = s.targetPriority[ctx];
    for (let w = 0; w < s.bitfieldWords; w++) {
      const cand = s.pending[w] & ~s.claimed[w] & s.enable[ctx * s.bitfieldWords + w];
      if (!cand) continue;
      for (let j = 0; j < 32; j++) {
        const irq = (w << 5) + j;
        if (cand & (1 << j) && s.sourcePriority[irq] > maxPrio) {
          maxIrq = irq;
          maxPrio = s.sourcePriority[irq];
        }
      }
    }
    return maxIrq;
  }

  // ---- MMIO ----

  /** 32-bit register read; narrower reads return a lane (a claim read claims). */
  read(offset: number, size: AccessSize): number {
    return subword(this.read32(offset & ~3), offset, size);
  }

  /** 32-bit register write; narrower writes are ignored (QEMU: 4-byte accesses only). */
  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || offset & 3) return;
    this.write32(offset, value >>> 0);
  }

  private read32(off: number): number {
    const s = this.state;
    if (off >= PLIC_PRIORITY_BASE && off < 4 * s.numSources) {
      return s.sourcePriority[off >> 2];
    }
    if (off >= PLIC_PENDING_BASE && off < PLIC_PENDING_BASE + 4 * s.bitfieldWords) {
      return s.pending[(off - PLIC_PENDING_BASE) >> 2];
    }
    if (off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_BASE + s.numAddrs * PLIC_ENABLE_STRIDE) {
      const ctx = Math.floor((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
      const word = ((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) >> 2;
      return word < s.bitfieldWords ? s.enable[ctx * s.bitfieldWords + word] : 0;
    }
    if (off >= PLIC_CONTEXT_BASE && off < PLIC_CONTEXT_BASE + s.numAddrs * PLIC_CONTEXT_STRIDE) {
      const ctx = Math.floor((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
      const reg = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
      if (reg === 0) return s.targetPriority[ctx];
      if (reg === 4) {
        const irq = this.best(ctx);
        if (irq) {
          setBit(s.pending, irq, false);
          setBit(s.claimed, irq, true);
        }
        this.update();
        return irq;
      }
    }
    return 0;
  }

  private legalPriority(v: number): number | null {
    const n = this.numPriorities;
    if (((n + 1) & n) === 0) return v % (n + 1); // WARL when n + 1 is a power of two
    return v <= n ? v : null;
  }

  private write32(off: number, v: number): void {
    const s = this.state;
    if (off >= PLIC_PRIORITY_BASE && off < 4 * s.numSources) {
      const p = this.legalPriority(v);
      if (p !== null) s.sourcePriority[off >> 2] = p;
    } else if (
      off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_BASE + s.numAddrs * PLIC_ENABLE_STRIDE
    ) {
      const ctx = Math.floor((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
      const word = ((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) >> 2;
      if (word < s.bitfieldWords) s.enable[ctx * s.bitfieldWords + word] = v;
    } else if (
      off >= PLIC_CONTEXT_BASE && off < PLIC_CONTEXT_BASE + s.numAddrs * PLIC_CONTEXT_STRIDE
    ) {
      const ctx = Math.floor((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
      const reg = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
      if (reg === 0) {
        const p = this.legalPriority(v);
        if (p !== null) s.targetPriority[ctx] = p;
      } else if (reg === 4) {
        if (v >= s.numSources) return;
        setBit(s.claimed, v, false);
        if (v !== 0 && this.lines[v]) setBit(s.pending, v, true); // gateway: still high
      } else {
        return;
      }
    } else {
      return; // pending bits are read-only
    }
    this.update();
  }

  /** Drives every context output from the current state. */
  private update(): void {
    for (let ctx = 0; ctx < this.state.numAddrs; ctx++) this.outputs[ctx](this.best(ctx) !== 0);
  }

  private applyLines(): void {
    const s = this.state;
    for (let irq = 1; irq < s.numSources; irq++) {
      if (this.lines[irq] && !bit(s.claimed, irq)) setBit(s.pending, irq, true);
    }
  }

  // ---- snapshot ----

  /** Section `riscv_sifive_plic`. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateSifivePlic,
      state: () => this.state,
      commit: (staged: SifivePlicState) => this.commit(staged),
    }];
  }

  /** Adopts a validated record; lines still high re-pend, then MEIP/SEIP are re-driven. */
  commit(staged: SifivePlicState): void {
    this.state = staged;
    this.committedPending = staged.pending.slice();
    this.applyLines();
    this.update();
  }

  /**
   * Re-applies the input lines once every device has re-driven its own: the virt machine runs
   * it as an after-commit hook of its section registry, at the end of every commit (load, `set`,
   * fork, fuzz reset). At {@link commit} time the lines of devices committed later still have
   * their old levels; a line high only then must not leave a pending bit the stream did not have.
   */
  settleLines(): void {
    if (!this.committedPending) return;
    this.state.pending.set(this.committedPending);
    this.committedPending = undefined;
    this.applyLines();
    this.update();
  }
}

// ---- migration ----

/** Highest priority a loaded stream may hold (QEMU virt: 7). */
const MAX_LOADED_PRIORITY = VIRT_PLIC_NUM_PRIORITIES;

function checkBitmap(name: string, words: Uint32Array, numSources: number): void {
  for (let w = 0; w < words.length; w++) {
    let valid = 0xffffffff;
    if (w === 0) valid &= ~1; // source 0 does not exist
    const top = numSources - (w << 5);
    if (top < 32) valid &= top <= 0 ? 0 : (1 << top) - 1;
    if ((words[w] & ~valid) >>> 0) {
      throw new StateValidationError(
        `${name}[${w}] = 0x${words[w].toString(16)} names sources outside 1..${numSources - 1}`,
      );
    }
  }
}

/** Section `riscv_sifive_plic` v1: QEMU 7.2's `vmstate_sifive_plic`. */
export const vmstateSifivePlic = vmsd<SifivePlicState>({
  name: "riscv_sifive_plic",
  versionId: 1,
  minimumVersionId: 1,
  fields: [
    varray("source_priority", vmstateUint32, "numSources", {
      key: "sourcePriority",
      countIsConfig: true,
    }),
    varray("target_priority", vmstateUint32, "numAddrs", {
      key: "targetPriority",
      countIsConfig: true,
    }),
    varray("pending", vmstateUint32, "bitfieldWords", { countIsConfig: true }),
    varray("claimed", vmstateUint32, "bitfieldWords", { countIsConfig: true }),
    varray("enable", vmstateUint32, "numEnables", { countIsConfig: true }),
  ],
  postLoad(s) {
    // QEMU 7.2 trusts these; a bit beyond num_sources would index source_priority out of bounds.
    s.sourcePriority.forEach((p, i) => {
      if (p > MAX_LOADED_PRIORITY) {
        throw new StateValidationError(`source_priority[${i}] = ${p} > ${MAX_LOADED_PRIORITY}`);
      }
    });
    s.targetPriority.forEach((p, i) => {
      if (p > MAX_LOADED_PRIORITY) {
        throw new StateValidationError(`target_priority[${i}] = ${p} > ${MAX_LOADED_PRIORITY}`);
      }
    });
    checkBitmap("pending", s.pending, s.numSources);
    checkBitmap("claimed", s.claimed, s.numSources);
  },
});
