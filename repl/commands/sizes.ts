/**
 * Size and count arguments as people type them: `128M`, `1GiB`, `4096`, `10e6`.
 * @module
 */
import { UsageError } from "./types.ts";

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse a byte size with an optional K/M/G (or KiB/MiB/GiB) suffix. */
export function parseSize(text: string, what = "size"): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `Invalid ${what} "${text}": use a number with an optional K, M or G suffix`,
    );
  }
  const v = Number(m[1]) * UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`Invalid ${what} "${text}"`);
  return v;
}

/** Parse a positive instruction count (`1000000`, `1e6`, `5M`). */
export function parseCount(text: string, what = "count"): number {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kmg]?)$/i.exec(t);
  if (!m) throw new UsageError(`Invalid ${what} "${text}"`);
  const mult = { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`Invalid ${what} "${text}"`);
  return v;
}

const TIME_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
};

/** How {@link parseDuration} reads a word. */
export interface DurationRules {
  /** Unit of a bare number (`30` with "s" is 30 seconds); without it a unit is required. */
  bareUnit?: "ns" | "us" | "ms" | "s";
  /** Accept zero (a downtime limit of 0 ms is valid). */
  allowZero?: boolean;
}

/**
 * The one duration parser: `500ms`, `2s`, `1.5s`, `100us`, `250000ns` (a bare number only when
 * `rules.bareUnit` says what it counts) into nanoseconds.
 */
export function parseDuration(text: string, what = "duration", rules: DurationRules = {}): bigint {
  const m = /^(\d+)(?:\.(\d+))?\s*(ns|us|µs|ms|s)?$/.exec(text.trim());
  const unitWord = m?.[3] ?? rules.bareUnit;
  if (!m || !unitWord) {
    throw new UsageError(
      `Invalid ${what} "${text}": use a number with ns, us, ms or s (2s, 500ms)`,
    );
  }
  const unit = TIME_UNITS[unitWord];
  const frac = m[2] ?? "";
  const scale = 10n ** BigInt(frac.length);
  const ns = (BigInt(m[1]) * scale + BigInt(frac || "0")) * unit / scale;
  if (ns < 0n || (ns === 0n && !rules.allowZero)) {
    throw new UsageError(`Invalid ${what} "${text}": it must be positive`);
  }
  return ns;
}

/** Render nanoseconds of virtual time as `1.234567 s` / `12.345 ms`. */
export function formatNs(ns: bigint): string {
  if (ns >= 1_000_000_000n) return `${(Number(ns) / 1e9).toFixed(6)} s`;
  if (ns >= 1_000_000n) return `${(Number(ns) / 1e6).toFixed(3)} ms`;
  if (ns >= 1_000n) return `${(Number(ns) / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

/** Parse a guest address or an integer (`0x80000000`, `2147483648`). */
export function parseAddress(text: string, what = "address"): number {
  const t = text.trim().replaceAll("_", "");
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    throw new UsageError(`Invalid ${what} "${text}": use hex (0x80000000) or decimal`);
  }
  const v = Number(t);
  if (!Number.isSafeInteger(v) || v > 0xffffffff) {
    throw new UsageError(`Invalid ${what} "${text}": it must fit in 32 bits`);
  }
  return v;
}
