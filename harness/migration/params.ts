/**
 * Live-migration parameters, QEMU's names and defaults (migrate-set-parameters): max-bandwidth,
 * downtime-limit, xbzrle-cache-size, cpu-throttle-initial/increment, max-cpu-throttle, plus a
 * round limit and what to do when precopy does not converge.
 * @module
 */
import { NS_PER_INSN } from "../../emu/machine.ts";
import { pageCacheSizeProblem } from "../../migration/ram/page_cache.ts";

/** A parameter value outside what migration accepts (the shell turns it into a usage error). */
export class MigrationParameterError extends Error {
  /** The parameter at fault, as QEMU names it. */
  readonly parameter: string;
  constructor(parameter: string, reason: string) {
    super(`Invalid ${parameter}: ${reason}`);
    this.name = "MigrationParameterError";
    this.parameter = parameter;
  }
}

/** What to do when the dirty rounds run out before the rest fits the downtime limit. */
export type NoConvergencePolicy = "give-up" | "force";

/** The knobs of one precopy migration. */
export interface MigrationParameters {
  /** Bytes per second on the wire (QEMU's max-bandwidth); also paces real transports. */
  maxBandwidth: number;
  /** Longest acceptable stop-and-copy, in ms (QEMU's downtime-limit). */
  downtimeLimitMs: number;
  /** Dirty rounds after the first full pass before precopy counts as not converging. */
  maxRounds: number;
  /** Give up (the source keeps running) or force the switch-over anyway. */
  onNoConvergence: NoConvergencePolicy;
  /** XBZRLE page cache in bytes, a power of two (QEMU's xbzrle-cache-size). */
  xbzrleCacheSize: number;
  /** auto-converge: the first throttle, percent of the guest's time taken away. */
  cpuThrottleInitial: number;
  /** auto-converge: added to the throttle each time dirtying still outpaces the link. */
  cpuThrottleIncrement: number;
  /** auto-converge: the throttle never goes above this percentage. */
  maxCpuThrottle: number;
  /**
   * postcopy-ram: switch to postcopy by itself after this many precopy rounds (0: only on
   * migrate-start-postcopy). A snapshell parameter; QEMU leaves the moment to the user.
   */
  postcopyAfterRounds: number;
}

/** QEMU 7.2's defaults: MAX_THROTTLE (128 MiB/s) and DEFAULT_MIGRATE_SET_DOWNTIME (300 ms). */
export const DEFAULT_PARAMETERS: Readonly<MigrationParameters> = Object.freeze({
  maxBandwidth: 128 * 1024 * 1024,
  downtimeLimitMs: 300,
  maxRounds: 30,
  onNoConvergence: "give-up",
  xbzrleCacheSize: 64 * 1024 * 1024,
  cpuThrottleInitial: 20,
  cpuThrottleIncrement: 10,
  maxCpuThrottle: 99,
  postcopyAfterRounds: 0,
});

/** The target page size the XBZRLE cache is counted in. */
const TARGET_PAGE_SIZE = 4096;

/** QEMU's MAX_MIGRATE_DOWNTIME: 2000 seconds. */
export const MAX_DOWNTIME_LIMIT_MS = 2000 * 1000;

/** Guest instructions per second of virtual time (the 100 MHz virtual hart). */
export const VIRTUAL_HZ = 1e9 / Number(NS_PER_INSN);

/** Check a full parameter set; throws {@link MigrationParameterError} naming the first bad one. */
export function checkParameters(p: MigrationParameters): MigrationParameters {
  if (!Number.isFinite(p.maxBandwidth) || p.maxBandwidth < 1) {
    throw new MigrationParameterError("max-bandwidth", `${p.maxBandwidth} is not a positive rate`);
  }
  if (
    !Number.isFinite(p.downtimeLimitMs) || p.downtimeLimitMs < 0 ||
    p.downtimeLimitMs > MAX_DOWNTIME_LIMIT_MS
  ) {
    throw new MigrationParameterError(
      "downtime-limit",
      `${p.downtimeLimitMs} ms is outside 0..${MAX_DOWNTIME_LIMIT_MS} ms`,
    );
  }
  if (!Number.isSafeInteger(p.maxRounds) || p.maxRounds < 0) {
    throw new MigrationParameterError("max-rounds", `${p.maxRounds} is not a count`);
  }
  if (p.onNoConvergence !== "give-up" && p.onNoConvergence !== "force") {
    throw new MigrationParameterError(
      "on-no-convergence",
      `"${p.onNoConvergence}" is neither give-up nor force`,
    );
  }
  const cache = pageCacheSizeProblem(p.xbzrleCacheSize, TARGET_PAGE_SIZE);
  if (cache) throw new MigrationParameterError("xbzrle-cache-size", cache);
  if (!Number.isSafeInteger(p.postcopyAfterRounds) || p.postcopyAfterRounds < 0) {
    throw new MigrationParameterError(
      "postcopy-after-rounds",
      `${p.postcopyAfterRounds} is not a count`,
    );
  }
  percent(p.cpuThrottleInitial, "cpu-throttle-initial", 1, 99);
  percent(p.cpuThrottleIncrement, "cpu-throttle-increment", 1, 99);
  percent(p.maxCpuThrottle, "max-cpu-throttle", p.cpuThrottleInitial, 99);
  return p;
}

/** QEMU's ranges for the throttle percentages (migrate_params_check). */
function percent(v: number, name: string, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new MigrationParameterError(name, `${v} is not an integer in ${min}..${max}`);
  }
}

/** Guest instructions that fit in the time `bytes` take on the wire at `bandwidth` bytes/s. */
export function insnsForBytes(bytes: number, bandwidth: number): number {
  return Math.ceil(bytes / bandwidth * VIRTUAL_HZ);
}
