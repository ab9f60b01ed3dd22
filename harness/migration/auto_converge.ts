/**
 * QEMU's auto-converge (migration/ram.c migration_trigger_throttle, mig_throttle_guest_down;
 * softmmu/cpu-throttle.c): after each dirty sync, when the guest dirtied more than half the
 * bytes that went on the wire in that period (throttle-trigger-threshold, 50%) for the second
 * time, the guest is throttled: first to cpu-throttle-initial percent, then up by
 * cpu-throttle-increment each time, never above max-cpu-throttle. A throttle of P% takes P% of
 * the guest's time away (QEMU's vCPU sleeps that share of every timeslice); here the guest
 * retires that share fewer instructions in the virtual time a round takes.
 * @module
 */
import type { MigrationParameters } from "./params.ts";

/** QEMU 7.2's default throttle-trigger-threshold: dirtied bytes over 50% of bytes sent. */
export const THROTTLE_TRIGGER_THRESHOLD = 50;

/** The throttle of one migration. */
export class AutoConverge {
  /** Percent of the guest's time taken away now (0: not throttled). */
  percent = 0;
  /** Periods the dirty rate was high since the last throttle change (QEMU's dirty_rate_high_cnt). */
  private high = 0;

  /**
   * QEMU's migration_trigger_throttle after a dirty sync: `dirtiedBytes` in the period against
   * `sentBytes` in it. Returns true when the throttle changed.
   */
  afterSync(dirtiedBytes: number, sentBytes: number, p: MigrationParameters): boolean {
    if (dirtiedBytes <= sentBytes * THROTTLE_TRIGGER_THRESHOLD / 100) return false;
    if (++this.high < 2) return false;
    this.high = 0;
    this.percent = this.percent === 0
      ? p.cpuThrottleInitial
      : Math.min(this.percent + p.cpuThrottleIncrement, p.maxCpuThrottle);
    return true;
  }

  /** Instructions the guest retires in time worth `insns` unthrottled. */
  scale(insns: number): number {
    return this.percent === 0 ? insns : Math.floor(insns * (100 - this.percent) / 100);
  }
}
