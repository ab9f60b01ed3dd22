/**
 * What every snapshell device shares: the wiring types the machine passes at construction
 * (virtual clock, interrupt lines), the shape of a device's snapshot sections, and the
 * scheduling contract of devices with deadlines.
 *
 * A device keeps its whole guest-visible state in plain records (no functions, no class
 * instances) so the migration engine can load into a `structuredClone` and `commit` it only
 * once the whole stream was accepted. Wiring (IRQ callbacks, sinks, the clock, DMA) lives on
 * the device object and is never saved; `commit` re-derives IRQ levels and deadlines from the
 * new record.
 *
 * @module
 */
import type { DeviceRegistration, SectionRegistry } from "../../migration/sections/registry.ts";
import type { StateRecord } from "../../migration/vmstate/description.ts";

/** Virtual time in nanoseconds, derived by the machine from the instruction count. */
export type VirtualClock = () => bigint;

/** One interrupt wire driven by a device (e.g. a PLIC source); called on every level update. */
export type IrqLine = (level: boolean) => void;

/** A wire that nobody listens to (default for optional outputs). */
export const NO_IRQ: IrqLine = () => {};

/** One snapshot section of a device: QEMU's `vmstate_register` arguments minus the registry. */
// deno-lint-ignore no-explicit-any
export type DeviceSection = DeviceRegistration<any>;

/** A device whose state travels in snapshots. */
export interface SnapshotDevice {
  /** The sections this device saves, in registration order (most devices have one). */
  sections(): DeviceSection[];
}

/** A device with virtual-time deadlines; the machine runs instruction blocks between them. */
export interface TimedDevice {
  /** The earliest virtual time (ns) at which {@link tick} has work, or null when idle. */
  nextDeadline(): bigint | null;
  /** Runs everything due at or before `nowNs` (timers, delayed input). */
  tick(nowNs: bigint): void;
}

/** Registers every section of `dev` (instance ids given by the machine, default 0). */
export function registerSections(
  reg: SectionRegistry,
  dev: SnapshotDevice,
  instanceId = 0,
): void {
  for (const s of dev.sections()) reg.registerDevice({ instanceId, ...s });
}

/** The `size`-byte lane at byte `offset & 3` of a 32-bit register value. */
export function subword(value: number, offset: number, size: 1 | 2 | 4): number {
  if (size === 4) return value >>> 0;
  const shift = (offset & 3) * 8;
  return (value >>> shift) & (size === 1 ? 0xff : 0xffff);
}

/** The earlier of two optional deadlines. */
export function earliest(a: bigint | null, b: bigint | null): bigint | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}

/** True when `v` is an integer in `[lo, hi]` (loaded values may be anything). */
export function inRange(v: unknown, lo: number, hi: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/** Type of a state record (re-exported for device files). */
export type { StateRecord };
