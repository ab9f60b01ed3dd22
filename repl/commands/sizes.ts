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
