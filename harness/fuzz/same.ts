/**
 * Whether two state records are equal, without building paths or difference lists: the fuzzer
 * asks this for every section after every case, and wants the named difference (diffValues)
 * only for the rare case where the answer is no.
 * @module
 */
import { Buffer } from "node:buffer";

function typedEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.constructor !== b.constructor || a.byteLength !== b.byteLength) return false;
  if (a instanceof DataView) return false; // not in records; let the full diff decide
  if (a.constructor === Float32Array || a.constructor === Float64Array) {
    const x = a as Float64Array, y = b as Float64Array;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return x.equals(y);
}

/**
 * True when `a` and `b` are the same plain data (Object.is on leaves, element-wise on arrays and
 * typed arrays, key-wise on objects and Maps); false whenever diffValues could report anything.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    return ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && typedEqual(a, b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !sameValue(v, b.get(k))) return false;
    return true;
  }
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!(k in y) || !sameValue(x[k], y[k])) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}
