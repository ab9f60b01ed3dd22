/**
 * Goldfish RTC (QEMU `goldfish_rtc`, virt at 0x00101000, PLIC source 11): a 64-bit nanosecond
 * counter (`virtual clock + tick_offset`), one alarm and one interrupt. Time is virtual: the
 * counter starts at the `epochNs` the machine gives (a fixed date by default), never the host
 * clock, so runs are reproducible.
 *
 * Section `goldfish_rtc` v3 (min 0), QEMU 7.2's field list. `tick_offset_vmstate` is the
 * pre-v3 clock base: never written on save (0, as QEMU), converted on load from v1/v2.
 *
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import { uint32, uint64, vmsd } from "../../migration/vmstate/fields.ts";
import type { AccessSize, MmioDevice } from "../bus.ts";
import {
  type DeviceSection,
  type IrqLine,
  NO_IRQ,
  type SnapshotDevice,
  subword,
  type TimedDevice,
  type VirtualClock,
} from "./device.ts";

const RTC_TIME_LOW = 0x00;
const RTC_TIME_HIGH = 0x04;
const RTC_ALARM_LOW = 0x08;
const RTC_ALARM_HIGH = 0x0c;
const RTC_IRQ_ENABLED = 0x10;
const RTC_CLEAR_ALARM = 0x14;
const RTC_ALARM_STATUS = 0x18;
const RTC_CLEAR_INTERRUPT = 0x1c;

const U64 = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;

/** 2024-01-01T00:00:00Z in ns: the default wall-clock reading at virtual time 0. */
export const DEFAULT_RTC_EPOCH_NS = 1_704_067_200n * 1_000_000_000n;

/** The RTC's state (QEMU's GoldfishRTCState, migrated part). */
export interface GoldfishRtcState {
  /** Pre-v3 clock base; only read from old streams. */
  tickOffsetVmstate: bigint;
  /** Alarm time in counter ns. */
  alarmNext: bigint;
  /** 1 while the alarm is armed. */
  alarmRunning: number;
  /** 1 once the alarm fired and was not cleared. */
  irqPending: number;
  /** 1 when the interrupt is enabled. */
  irqEnabled: number;
  /** High half latched by the last TIME_LOW read. */
  timeHigh: number;
  /** Counter minus virtual clock (uint64, wrapping). */
  tickOffset: bigint;
}

/** Reset state with the counter reading `epochNs` at virtual time 0. */
export function createRtcState(epochNs = DEFAULT_RTC_EPOCH_NS): GoldfishRtcState {
  return {
    tickOffsetVmstate: 0n,
    alarmNext: 0n,
    alarmRunning: 0,
    irqPending: 0,
    irqEnabled: 0,
    timeHigh: 0,
    tickOffset: epochNs & U64,
  };
}

/** Wiring of the RTC. */
export interface GoldfishRtcOptions {
  /** Virtual clock. */
  clock: VirtualClock;
  /** PLIC source line (virt: source 11). */
  irq?: IrqLine;
  /** Counter value at virtual time 0 (default {@link DEFAULT_RTC_EPOCH_NS}). */
  epochNs?: bigint;
}

/** Goldfish RTC with a virtual-time counter. */
export class GoldfishRtc implements MmioDevice, TimedDevice, SnapshotDevice {
  /** Live state. */
  state: GoldfishRtcState;
  private readonly clock: VirtualClock;
  private readonly irq: IrqLine;
  private readonly epochNs: bigint;

  constructor(opts: GoldfishRtcOptions) {
    this.clock = opts.clock;
    this.irq = opts.irq ?? NO_IRQ;
    this.epochNs = opts.epochNs ?? DEFAULT_RTC_EPOCH_NS;
    this.state = createRtcState(this.epochNs);
  }

  /** Power-on reset: counter back at the epoch, alarm and interrupt off. */
  reset(): void {
    this.state = createRtcState(this.epochNs);
    this.update();
  }

  /** The counter at virtual time `ns`. */
  countAt(ns: bigint): bigint {
    return (this.state.tickOffset + ns) & U64;
  }

  // ---- MMIO ----

  /** Register read (TIME_LOW latches TIME_HIGH). */
  read(offset: number, size: AccessSize): number {
    const s = this.state;
    let r = 0;
    switch (offset & ~3) {
      case RTC_TIME_LOW: {
        const t = this.countAt(this.clock());
        s.timeHigh = Number(t >> 32n);
        r = Number(t & 0xffffffffn);
        break;
      }
      case RTC_TIME_HIGH:
        r = s.timeHigh;
        break;
      case RTC_ALARM_LOW:
        r = Number(s.alarmNext & 0xffffffffn);
        break;
      case RTC_ALARM_HIGH:
        r = Number(s.alarmNext >> 32n);
        break;
      case RTC_IRQ_ENABLED:
        r = s.irqEnabled;
        break;
      case RTC_ALARM_STATUS:
        r = s.alarmRunning;
        break;
    }
    return subword(r, offset, size);
  }

  /** Register write (32-bit only, as QEMU). */
  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || offset & 3) return;
    const s = this.state;
    const v = BigInt(value >>> 0);
    switch (offset) {
      case RTC_TIME_LOW:
      case RTC_TIME_HIGH: {
        const cur = this.countAt(this.clock());
        const next = offset === RTC_TIME_LOW
          ? (cur & ~0xffffffffn) | v
          : (v << 32n) | (cur & 0xffffffffn);
        s.tickOffset = (s.tickOffset + next - cur) & U64;
        break;
      }
      case RTC_ALARM_LOW:
        s.alarmNext = (s.alarmNext & ~0xffffffffn) | v;
        this.setAlarm(this.clock());
        break;
      case RTC_ALARM_HIGH:
        s.alarmNext = (v << 32n) | (s.alarmNext & 0xffffffffn);
        break;
      case RTC_IRQ_ENABLED:
        s.irqEnabled = value & 1;
        this.update();
        break;
      case RTC_CLEAR_ALARM:
        s.alarmRunning = 0;
        break;
      case RTC_CLEAR_INTERRUPT:
        s.irqPending = 0;
        this.update();
        break;
    }
  }

  // ---- time ----

  /** Virtual time at which the armed alarm fires, or null. */
  nextDeadline(): bigint | null {
    const s = this.state;
    if (!s.alarmRunning) return null;
    const d = (s.alarmNext - s.tickOffset) & U64;
    return d > INT64_MAX ? 0n : d;
  }

  /** Fires the alarm when due. */
  tick(nowNs: bigint): void {
    const d = this.nextDeadline();
    if (d !== null && nowNs >= d) this.fire();
  }

  private setAlarm(now: bigint): void {
    const s = this.state;
    if (s.alarmNext <= this.countAt(now)) {
      s.alarmRunning = 0;
      this.fire();
    } else {
      s.alarmRunning = 1;
    }
  }

  private fire(): void {
    this.state.alarmRunning = 0;
    this.state.irqPending = 1;
    this.update();
  }

  private update(): void {
    this.irq((this.state.irqPending & this.state.irqEnabled) !== 0);
  }

  // ---- snapshot ----

  /** Section `goldfish_rtc`. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateGoldfishRtc,
      state: () => this.state,
      commit: (staged: GoldfishRtcState) => this.commit(staged),
    }];
  }

  /**
   * Adopts a validated record: the alarm deadline follows from `alarm_next - tick_offset` and
   * the line from pending & enabled. (QEMU's post_load re-runs set_alarm even when no alarm is
   * armed, which can raise a spurious interrupt; snapshell only re-arms a running alarm.)
   */
  commit(staged: GoldfishRtcState): void {
    this.state = staged;
    this.update();
  }
}

// ---- migration ----

function flag(name: string, v: number): void {
  if (v !== 0 && v !== 1) throw new StateValidationError(`${name} is ${v}, not 0 or 1`);
}

/** Section `goldfish_rtc` v3 (no minimum: 0), QEMU 7.2's `goldfish_rtc_vmstate`. */
export const vmstateGoldfishRtc = vmsd<GoldfishRtcState>({
  name: "goldfish_rtc",
  versionId: 3,
  minimumVersionId: 0,
  preSave(s) {
    s.tickOffsetVmstate = 0n; // QEMU never fills it
  },
  postLoad(s, version) {
    // The rtc clock is the virtual clock here, so the pre-v3 conversion is the identity.
    if (version < 3) s.tickOffset = s.tickOffsetVmstate;
    flag("alarm_running", s.alarmRunning);
    flag("irq_pending", s.irqPending);
    flag("irq_enabled", s.irqEnabled);
    if (s.alarmRunning && ((s.alarmNext - s.tickOffset) & U64) > INT64_MAX) {
      throw new StateValidationError(
        `Alarm deadline alarm_next - tick_offset = ${
          (s.alarmNext - s.tickOffset) & U64
        } ns is outside the virtual clock's range`,
      );
    }
  },
  fields: [
    uint64("tick_offset_vmstate", { key: "tickOffsetVmstate" }),
    uint64("alarm_next", { key: "alarmNext" }),
    uint32("alarm_running", { key: "alarmRunning" }),
    uint32("irq_pending", { key: "irqPending" }),
    uint32("irq_enabled", { key: "irqEnabled" }),
    uint32("time_high", { key: "timeHigh" }),
    uint64("tick_offset", { key: "tickOffset", version: 3 }),
  ],
});
