/**
 * QEMU's `timer` section (softmmu/cpu-timers.c, TimersState): the offsets that turn host time
 * into the guest's tick counter and virtual clock, and with `-icount` the instruction counter
 * behind the virtual clock (`timer/icount`, plus `timer/icount/warp_timer`,
 * `timer/icount/timers` and `timer/icount/shift` when QEMU created those timers or runs
 * `shift=auto`).
 *
 * snapshell's clock is always instruction-driven, so these values are bookkeeping a QEMU
 * stream carries: the record keeps them as loaded and saves them back unchanged; the machine
 * profile decides which subsections are present through the record's `mode`.
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import { int16, int64, timer, unused, vmsd } from "../../../migration/vmstate/fields.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** QEMU's MAX_ICOUNT_SHIFT: the largest `-icount shift=N`. */
export const MAX_ICOUNT_SHIFT = 10;

/** Which icount configuration the record describes (QEMU's icount_enabled(): 0, 1, 2 = auto). */
export type IcountMode = 0 | 1 | 2;

/** QEMU's TimersState, migrated part, plus which optional timers exist. */
export interface TimersState {
  /** Configuration: 0 no icount, 1 `-icount shift=N`, 2 `shift=auto`. Never on the wire. */
  mode: IcountMode;
  /** Configuration: QEMU created icount_warp_timer (every icount mode does). */
  hasWarpTimer: boolean;
  /** Configuration: QEMU created icount_rt_timer/icount_vm_timer (`shift=auto`). */
  hasAdjustTimers: boolean;
  /** Host tick offset (int64). */
  cpuTicksOffset: bigint;
  /** Host clock offset of the virtual clock (int64). */
  cpuClockOffset: bigint;
  /** ns added to the instruction-derived time (int64). */
  qemuIcountBias: bigint;
  /** Executed instructions (int64). */
  qemuIcount: bigint;
  /** Virtual-RT time at which a clock warp started, -1 when none (int64). */
  vmClockWarpStart: bigint;
  /** icount_warp_timer deadline, -1 when not armed. */
  icountWarpTimer: bigint;
  /** icount_rt_timer deadline. */
  icountRtTimer: bigint;
  /** icount_vm_timer deadline. */
  icountVmTimer: bigint;
  /** log2 of ns per instruction (int16). */
  icountTimeShift: number;
  /** Last measured drift (int64). */
  lastDelta: bigint;
}

/** A fresh record for `mode` (QEMU's values before the guest ran). */
export function createTimersState(mode: IcountMode = 0, shift = 0): TimersState {
  return {
    mode,
    hasWarpTimer: mode !== 0,
    hasAdjustTimers: mode === 2,
    cpuTicksOffset: 0n,
    cpuClockOffset: 0n,
    qemuIcountBias: 0n,
    qemuIcount: 0n,
    vmClockWarpStart: -1n,
    icountWarpTimer: -1n,
    icountRtTimer: -1n,
    icountVmTimer: -1n,
    icountTimeShift: shift,
    lastDelta: 0n,
  };
}

/** The machine's clock as the `timer` section sees it. */
export interface TimerClock {
  /** Instructions executed so far and the virtual time in ns. */
  read(): { icount: bigint; ns: bigint };
  /** Sets the virtual time (and the instruction count, when the stream has one) after a load. */
  set(ns: bigint, icount: bigint | undefined): void;
}

/**
 * QEMU's virtual clock of a stopped machine: with icount, `qemu_icount_bias + (qemu_icount <<
 * shift)` (icount_get_locked); without, `cpu_clock_offset` (cpu_disable_ticks stores the clock
 * there when the VM stops).
 */
export function vmClockNs(s: TimersState): bigint {
  return s.mode !== 0
    ? s.qemuIcountBias + (s.qemuIcount << BigInt(s.icountTimeShift))
    : s.cpuClockOffset;
}

/** The `timer` section's owner (QEMU registers it with no device behind it). */
export class CpuTimers implements SnapshotDevice {
  /** Live state. */
  state: TimersState;

  constructor(mode: IcountMode = 0, shift = 0) {
    this.state = createTimersState(mode, shift);
  }

  private clock: TimerClock | undefined;

  /** Ties the record to a machine's clock: saves read it, loads set it. */
  useClock(clock: TimerClock): void {
    this.clock = clock;
  }

  /** The record with the machine's current time in it (what a save sends). */
  current(): TimersState {
    const c = this.clock;
    if (!c) return this.state;
    const { icount, ns } = c.read();
    const s = this.state;
    if (s.mode !== 0) {
      s.qemuIcount = icount;
      s.qemuIcountBias = ns - (icount << BigInt(s.icountTimeShift));
    } else s.cpuClockOffset = ns; // a stopped QEMU keeps its virtual clock there
    return s;
  }

  /** Section `timer`. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateTimers,
      state: () => this.current(),
      commit: (staged: TimersState) => {
        this.state = staged;
        this.clock?.set(vmClockNs(staged), staged.mode !== 0 ? staged.qemuIcount : undefined);
      },
    }];
  }
}

function deadline(name: string, v: bigint): void {
  if (v < -1n) throw new StateValidationError(`${name} is ${v}: a deadline is -1 or >= 0`);
}

const warpTimer = vmsd<TimersState>({
  name: "timer/icount/warp_timer",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.hasWarpTimer,
  postLoad(s) {
    s.hasWarpTimer = true;
    deadline("icount_warp_timer", s.icountWarpTimer);
    if (s.vmClockWarpStart < -1n) {
      throw new StateValidationError(`vm_clock_warp_start is ${s.vmClockWarpStart}`);
    }
  },
  fields: [
    int64("vm_clock_warp_start", { key: "vmClockWarpStart" }),
    timer("icount_warp_timer", { key: "icountWarpTimer" }),
  ],
});

const adjustTimers = vmsd<TimersState>({
  name: "timer/icount/timers",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.hasAdjustTimers,
  postLoad(s) {
    s.hasAdjustTimers = true;
    deadline("icount_rt_timer", s.icountRtTimer);
    deadline("icount_vm_timer", s.icountVmTimer);
  },
  fields: [
    timer("icount_rt_timer", { key: "icountRtTimer" }),
    timer("icount_vm_timer", { key: "icountVmTimer" }),
  ],
});

const shiftState = vmsd<TimersState>({
  name: "timer/icount/shift",
  versionId: 2,
  minimumVersionId: 2,
  needed: (s) => s.mode === 2,
  postLoad(s) {
    s.mode = 2;
    if (s.icountTimeShift < 0 || s.icountTimeShift > MAX_ICOUNT_SHIFT) {
      throw new StateValidationError(
        `icount_time_shift ${s.icountTimeShift} is outside 0..${MAX_ICOUNT_SHIFT}`,
      );
    }
  },
  fields: [
    int16("icount_time_shift", { key: "icountTimeShift" }),
    int64("last_delta", { key: "lastDelta" }),
  ],
});

const icount = vmsd<TimersState>({
  name: "timer/icount",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.mode !== 0,
  postLoad(s) {
    if (s.mode === 0) s.mode = 1;
    if (s.qemuIcount < 0n) throw new StateValidationError(`qemu_icount is ${s.qemuIcount}`);
  },
  fields: [
    int64("qemu_icount_bias", { key: "qemuIcountBias" }),
    int64("qemu_icount", { key: "qemuIcount" }),
  ],
  subsections: [warpTimer, adjustTimers, shiftState],
});

/** Section `timer` v2 (min 1), QEMU 7.2's `vmstate_timers` with its icount subsections. */
export const vmstateTimers = vmsd<TimersState>({
  name: "timer",
  versionId: 2,
  minimumVersionId: 1,
  // The configuration follows the stream: the subsections present say which icount mode and
  // timers the sender had (each one's postLoad sets its flag), so a save sends the same set.
  preLoad(s) {
    s.mode = 0;
    s.hasWarpTimer = false;
    s.hasAdjustTimers = false;
  },
  fields: [
    int64("cpu_ticks_offset", { key: "cpuTicksOffset" }),
    unused(8),
    int64("cpu_clock_offset", { key: "cpuClockOffset", version: 2 }),
  ],
  subsections: [icount],
});
