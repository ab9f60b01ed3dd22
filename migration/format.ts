/**
 * The one value formatter: how numbers, bigints, byte buffers and state values read in messages,
 * the shell (`info device`, `set`), machine diffs (store `diff`, replay, fuzz) and the inspector's
 * wire leaves (analyze-migration.py's `0x%0Nx`). Everything that shows a value calls this module,
 * so the same value reads the same everywhere.
 * @module
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `0x…` lowercase, zero-padded to `digits` (no padding by default). */
export function hex(v: number | bigint, digits = 0): string {
  return `0x${v.toString(16).padStart(digits, "0")}`;
}

/** Bytes as two-digit lowercase hex separated by spaces. */
export function hexBytes(b: Uint8Array): string {
  const parts = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) parts[i] = HEX[b[i]];
  return parts.join(" ");
}

/** True for arrays and typed arrays of numbers, bigints or booleans. */
export function isScalarArray(v: unknown): v is ArrayLike<number | bigint | boolean> {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return true;
  return Array.isArray(v) && v.every((x) => ["number", "bigint", "boolean"].includes(typeof x));
}

/**
 * A short readable rendering of a state value: integers above 9 in hex, small and negative ones
 * in decimal; buffers as their first bytes with length and non-zero count; scalar arrays as their
 * first `maxItems` elements; `(absent)` for a value that is not there.
 */
export function formatValue(v: unknown, maxItems = 16): string {
  if (typeof v === "number") return Number.isInteger(v) && v > 9 ? hex(v) : `${v}`;
  if (typeof v === "bigint") return v > 9n ? hex(v) : `${v}`;
  if (v === undefined) return "(absent)";
  if (typeof v === "boolean" || v === null) return String(v);
  if (v instanceof Uint8Array) {
    const shown = hexBytes(v.subarray(0, maxItems * 2));
    const nonZero = v.reduce((n, b) => n + (b !== 0 ? 1 : 0), 0);
    return `${shown}${
      v.length > maxItems * 2 ? " …" : ""
    } (${v.length} bytes, ${nonZero} non-zero)`;
  }
  if (isScalarArray(v)) {
    const items = Array.from(v).slice(0, maxItems).map((x) => formatValue(x));
    return `[${items.join(", ")}${v.length > maxItems ? `, … (${v.length})` : ""}]`;
  }
  if (v instanceof Map) return `Map(${v.size})`;
  if (Array.isArray(v)) return `list(${v.length})`;
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? x.toString() : x) ?? String(v);
}

/** A byte count for people: `512 B`, `4.0 KiB`, `16.0 MiB`, `1.5 GiB`. */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
