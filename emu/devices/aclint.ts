/**
 * RISC-V ACLINT as QEMU's `virt` maps it in one CLINT window at 0x02000000: the software
 * interrupt device (MSWI, `msip` per hart at +0x0000) and the machine timer (MTIMER,
 * `mtimecmp` per hart at +0x4000, `mtime` at +0xbff8). `mtime` counts at `timebaseFreq`
 * (10 MHz on virt) from the virtual clock plus a guest-written offset (`time_delta`).
 *
 * Sections:
 * - `riscv_mtimer` v1: QEMU 7.2's description exactly (`timecmp`, a VARRAY of uint64 over the
 *   configured hart count), plus the snapshell subsection `riscv_mtimer/snapshell-time-delta`
 *   carrying `time_delta` only when the guest wrote `mtime` (QEMU 7.2 does not migrate it).
 * - `riscv_aclint_swi` v1: snapshell-only. QEMU 7.2 has no VMSD for the MSWI (its MSIP bits
 *   live in the CPU's `mip`); snapshell saves every bit of device state, so `msip` travels
 *   here. A QEMU destination would reject this section as unknown.
 *
 * Accesses are 32-bit; narrower ones read the matching lane and write through a
 * read-modify-write of the 32-bit register.
 *
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import { uint64, varray, vmsd } from "../../migration/vmstate/fields.ts";
import { vmstateUint32, vmstateUint64 } from "../../migration/vmstate/infos.ts";
import type { AccessSize, MmioDevice } from "../bus.ts";
import {
  type DeviceSection,
  inRange,
  type SnapshotDevice,
  subword,
  type TimedDevice,
  type VirtualClock,
} from "./device.ts";

/** Offset of the MSWI `msip` registers in the CLINT window. */
export const ACLINT_MSIP_BASE = 0x0000;
/** Offset of the MTIMER `mtimecmp` registers. */
export const ACLINT_MTIMECMP_BASE = 0x4000;
/** Offset of `mtime`. */
export const ACLINT_MTIME = 0xbff8;
/** Size of the whole CLINT window. */
export const ACLINT_SIZE = 0x10000;
/** QEMU virt's timebase (RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ). */
export const VIRT_TIMEBASE_FREQ = 10_000_000;

const NS_PER_SEC = 1_000_000_000n;
const U64 = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;

/** State of the machine timer (QEMU's RISCVAclintMTimerState, migrated part). */
export interface AclintMtimerState {
  /** Number of harts (configuration: the VARRAY count, never on the wire). */
  numHarts: number;
  /** mtimecmp per hart (uint64). */
  timecmp: bigint[];
  /** Offset the guest added by writing mtime (uint64, wrapping). */
  timeDelta: bigint;
}

/** State of the software interrupt device. */
export interface AclintSwiState {
  /** Number of harts (configuration). */
  numHarts: number;
  /** msip per hart (0 or 1). */
  msip: number[];
}

/** Wiring of the ACLINT. */
export interface AclintOptions {
  /** Virtual clock. */
  clock: VirtualClock;
  /** Number of harts (default 1). */
  numHarts?: number;
  /** mtime frequency in Hz (default 10 MHz). */
  timebaseFreq?: number;
  /** Drives MTIP of `hart` (e.g. `(h, l) => cpu.setIrq(Irq.MTI, l)`). */
  timerIrq?: (hart: number, level: boolean) => void;
  /** Drives MSIP of `hart` (e.g. `(h, l) => cpu.setIrq(Irq.MSI, l)`). */
  softIrq?: (hart: number, level: boolean) => void;
  /**
   * QEMU 7.2's timer (the `qemu-virt` profile): a write of mtimecmp (or mtime) arms a timer for
   * `now + (mtimecmp - mtime(now)) × 1e9 / freq` ns, mtime rounded down, as
   * riscv_aclint_mtimer_write_timecmp does, so MTIP rises up to one mtime tick (100 ns at 10 MHz)
   * after mtime reaches mtimecmp, exactly when QEMU raises it. Default: the exact crossing.
   */
  qemuTimer?: boolean;
}

/** Fresh timer state: mtimecmp 0 (QEMU's reset value), no offset. */
export function createMtimerState(numHarts = 1): AclintMtimerState {
  return { numHarts, timecmp: Array.from({ length: numHarts }, () => 0n), timeDelta: 0n };
}

/** Fresh software-interrupt state. */
export function createSwiState(numHarts = 1): AclintSwiState {
  return { numHarts, msip: Array.from({ length: numHarts }, () => 0) };
}

/** MSWI + MTIMER of one socket, mapped as one MMIO window. */
export class Aclint implements MmioDevice, TimedDevice, SnapshotDevice {
  /** Live timer state. */
  mtimer: AclintMtimerState;
  /** Live software-interrupt state. */
  swi: AclintSwiState;
  private readonly clock: VirtualClock;
  private readonly freq: bigint;
  private readonly numHarts: number;
  private readonly timerIrq: (hart: number, level: boolean) => void;
  private readonly softIrq: (hart: number, level: boolean) => void;
  /** Current MTIP levels (wiring, re-derived from state). */
  private readonly mtip: boolean[];
  /** `qemuTimer`: per hart, the virtual ns its armed timer fires at (QEMU's timer_mod), or null. */
  private readonly armed: (bigint | null)[] | undefined;

  constructor(opts: AclintOptions) {
    this.clock = opts.clock;
    this.numHarts = opts.numHarts ?? 1;
    if (!inRange(this.numHarts, 1, 4095)) throw new RangeError("ACLINT needs 1..4095 harts");
    this.freq = BigInt(opts.timebaseFreq ?? VIRT_TIMEBASE_FREQ);
    this.timerIrq = opts.timerIrq ?? (() => {});
    this.softIrq = opts.softIrq ?? (() => {});
    this.mtimer = createMtimerState(this.numHarts);
    this.swi = createSwiState(this.numHarts);
    this.mtip = Array.from({ length: this.numHarts }, () => false);
    this.armed = opts.qemuTimer ? Array.from({ length: this.numHarts }, () => null) : undefined;
  }

  /** Power-on reset: mtimecmp 0, no offset, msip clear. */
  reset(): void {
    this.mtimer = createMtimerState(this.numHarts);
    this.swi = createSwiState(this.numHarts);
    if (this.armed) {
      // QEMU arms nothing at reset: MTIP waits for the guest's first mtimecmp write.
      for (let h = 0; h < this.numHarts; h++) {
        this.armed[h] = null;
        this.setMtip(h, false);
      }
      return;
    }
    this.refresh(this.clock());
  }

  /** mtime at virtual time `ns`: ns × freq / 1e9 + time_delta (mod 2^64). */
  mtimeAt(ns: bigint): bigint {
    return ((ns * this.freq) / NS_PER_SEC + this.mtimer.timeDelta) & U64;
  }

  // ---- MMIO ----

  /** Reads msip, mtimecmp or mtime. */
  read(offset: number, size: AccessSize): number {
    return subword(this.read32(offset & ~3), offset, size);
  }

  /** Writes msip, mtimecmp or mtime (narrow writes merge into the 32-bit register). */
  write(offset: number, size: AccessSize, value: number): void {
    const aligned = offset & ~3;
    let v = value >>> 0;
    if (size !== 4) {
      const shift = (offset & 3) * 8;
      const mask = (size === 1 ? 0xff : 0xffff) << shift;
      v = ((this.read32(aligned) & ~mask) | ((v << shift) & mask)) >>> 0;
    }
    this.write32(aligned, v);
  }

  private read32(off: number): number {
    if (off >= ACLINT_MSIP_BASE && off < ACLINT_MSIP_BASE + 4 * this.numHarts) {
      return this.swi.msip[(off - ACLINT_MSIP_BASE) >> 2];
    }
    if (off >= ACLINT_MTIMECMP_BASE && off < ACLINT_MTIMECMP_BASE + 8 * this.numHarts) {
      const cmp = this.mtimer.timecmp[(off - ACLINT_MTIMECMP_BASE) >> 3];
      return Number(off & 4 ? cmp >> 32n : cmp & 0xffffffffn);
    }
    if (off === ACLINT_MTIME || off === ACLINT_MTIME + 4) {
      const t = this.mtimeAt(this.clock());
      return Number(off & 4 ? t >> 32n : t & 0xffffffffn);
    }
    return 0;
  }

  private write32(off: number, v: number): void {
    const now = this.clock();
    if (off >= ACLINT_MSIP_BASE && off < ACLINT_MSIP_BASE + 4 * this.numHarts) {
      const hart = (off - ACLINT_MSIP_BASE) >> 2;
      this.swi.msip[hart] = v & 1;
      this.softIrq(hart, (v & 1) !== 0);
      return;
    }
    if (off >= ACLINT_MTIMECMP_BASE && off < ACLINT_MTIMECMP_BASE + 8 * this.numHarts) {
      const hart = (off - ACLINT_MTIMECMP_BASE) >> 3;
      const old = this.mtimer.timecmp[hart];
      const word = BigInt(v);
      this.mtimer.timecmp[hart] = off & 4
        ? (word << 32n) | (old & 0xffffffffn)
        : (old & 0xffffffff00000000n) | word;
      if (this.armed) this.arm(hart, now);
      else this.refresh(now);
      return;
    }
    if (off === ACLINT_MTIME || off === ACLINT_MTIME + 4) {
      const raw = (now * this.freq) / NS_PER_SEC;
      const cur = this.mtimeAt(now);
      const word = BigInt(v);
      const next = off & 4 ? (word << 32n) | (cur & 0xffffffffn) : (cur & ~0xffffffffn) | word;
      this.mtimer.timeDelta = (next - raw) & U64;
      if (this.armed) { for (let h = 0; h < this.numHarts; h++) this.arm(h, now); }
      else this.refresh(now);
    }
  }

  // ---- time ----

  /** Virtual ns at which `hart`'s mtime reaches mtimecmp, or null if never / already. */
  private deadline(hart: number): bigint | null {
    const target = (this.mtimer.timecmp[hart] - this.mtimer.timeDelta) & U64;
    // Smallest ns with floor(ns * freq / 1e9) >= target.
    const ns = (target * NS_PER_SEC + this.freq - 1n) / this.freq;
    return ns > INT64_MAX ? null : ns;
  }

  /** The next mtimecmp crossing of a hart whose MTIP is low (`qemuTimer`: the next armed timer). */
  nextDeadline(): bigint | null {
    let best: bigint | null = null;
    if (this.armed) {
      for (const d of this.armed) if (d !== null && (best === null || d < best)) best = d;
      return best;
    }
    for (let h = 0; h < this.numHarts; h++) {
      if (this.mtip[h]) continue;
      const d = this.deadline(h);
      if (d !== null && (best === null || d < best)) best = d;
    }
    return best;
  }

  /** Re-evaluates MTIP at `nowNs` (`qemuTimer`: raises it for each timer that expired). */
  tick(nowNs: bigint): void {
    if (!this.armed) return this.refresh(nowNs);
    for (let h = 0; h < this.numHarts; h++) {
      const d = this.armed[h];
      if (d !== null && nowNs >= d) {
        this.armed[h] = null;
        this.setMtip(h, true); // QEMU's riscv_aclint_mtimer_cb
      }
    }
  }

  private setMtip(hart: number, level: boolean): void {
    this.mtip[hart] = level;
    this.timerIrq(hart, level);
  }

  /**
   * QEMU 7.2's riscv_aclint_mtimer_write_timecmp at `now`: MTIP up at once when mtimecmp is not
   * ahead of mtime; otherwise MTIP down and a timer armed `(mtimecmp - mtime) × 1e9 / freq` ns
   * from now (muldiv64, rounded down; an overflow arms nothing, as QEMU's INT64_MAX never comes).
   */
  private arm(hart: number, now: bigint): void {
    const armed = this.armed!;
    const rtc = this.mtimeAt(now);
    const cmp = this.mtimer.timecmp[hart];
    if (cmp <= rtc) {
      armed[hart] = null;
      this.setMtip(hart, true);
      return;
    }
    this.setMtip(hart, false);
    const diff = cmp - rtc;
    const nsDiff = ((diff * NS_PER_SEC) / this.freq) & U64;
    const overflow = (NS_PER_SEC > this.freq && nsDiff < diff) || nsDiff > INT64_MAX;
    armed[hart] = overflow || now + nsDiff >= INT64_MAX ? null : now + nsDiff;
  }

  /** MTIP = mtime >= mtimecmp (QEMU raises on expiry, lowers when mtimecmp moves ahead). */
  private refresh(now: bigint): void {
    const t = this.mtimeAt(now);
    for (let h = 0; h < this.numHarts; h++) {
      const level = this.mtimer.timecmp[h] <= t;
      this.mtip[h] = level;
      this.timerIrq(h, level);
    }
  }

  // ---- snapshot ----

  /** Sections `riscv_mtimer` and `riscv_aclint_swi`. */
  sections(): DeviceSection[] {
    return [
      {
        vmsd: vmstateRiscvMtimer,
        state: () => this.mtimer,
        commit: (staged: AclintMtimerState) => {
          this.mtimer = staged;
          const now = this.clock();
          // `qemuTimer`: re-armed as if mtimecmp were written now (QEMU 7.2 re-arms nothing).
          if (this.armed) { for (let h = 0; h < this.numHarts; h++) this.arm(h, now); }
          else this.refresh(now);
        },
      },
      {
        vmsd: vmstateRiscvAclintSwi,
        state: () => this.swi,
        commit: (staged: AclintSwiState) => {
          this.swi = staged;
          for (let h = 0; h < this.numHarts; h++) this.softIrq(h, staged.msip[h] !== 0);
        },
      },
    ];
  }
}

// ---- migration ----

/** snapshell extension: the guest-written mtime offset, sent only when it is not 0. */
const vmstateRiscvMtimerTimeDelta = vmsd<AclintMtimerState>({
  name: "riscv_mtimer/snapshell-time-delta",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.timeDelta !== 0n,
  fields: [uint64("time_delta", { key: "timeDelta" })],
});

/** Section `riscv_mtimer` v1: QEMU 7.2's `vmstate_riscv_mtimer`. */
export const vmstateRiscvMtimer = vmsd<AclintMtimerState>({
  name: "riscv_mtimer",
  versionId: 1,
  minimumVersionId: 1,
  preLoad(s) {
    s.timeDelta = 0n; // not in QEMU streams: a QEMU destination starts with 0
  },
  fields: [varray("timecmp", vmstateUint64, "numHarts", { countIsConfig: true })],
  subsections: [vmstateRiscvMtimerTimeDelta],
});

/** Section `riscv_aclint_swi` v1 (snapshell; QEMU 7.2 has none): one msip word per hart. */
export const vmstateRiscvAclintSwi = vmsd<AclintSwiState>({
  name: "riscv_aclint_swi",
  versionId: 1,
  minimumVersionId: 1,
  fields: [varray("msip", vmstateUint32, "numHarts", { countIsConfig: true })],
  postLoad(s) {
    s.msip.forEach((v, h) => {
      if (v !== 0 && v !== 1) throw new StateValidationError(`msip[${h}] is ${v}, not 0 or 1`);
    });
  },
});
