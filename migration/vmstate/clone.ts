/**
 * Copying a state record for a load to decode into. Records are plain data (objects, arrays,
 * typed arrays, numbers, bigints, strings); copying those directly is several times faster than
 * `structuredClone`, which every loaded section paid for. Anything else (a Map, a Date, a
 * function, typed arrays sharing one buffer, a cycle) goes to `structuredClone` with the whole
 * record, so results and errors are structuredClone's. One difference: an object reached twice
 * (not a cycle) becomes two copies; state records are trees, so none has one.
 * @module
 */

/** Nesting deeper than this is treated as a possible cycle and left to structuredClone. */
const MAX_DEPTH = 32;

/** Thrown inside the fast copy when the record needs structuredClone. */
const NOT_PLAIN = Symbol("not plain");

function copy(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== "object") {
    if (typeof v === "function" || typeof v === "symbol") throw NOT_PLAIN;
    return v;
  }
  if (depth > MAX_DEPTH) throw NOT_PLAIN;
  if (Array.isArray(v)) {
    const n = v.length;
    const a = new Array(n);
    for (let i = 0; i < n; i++) {
      if (!(i in v)) throw NOT_PLAIN; // holes stay holes only in structuredClone
      a[i] = copy(v[i], depth + 1);
    }
    return a;
  }
  if (ArrayBuffer.isView(v)) {
    // A view of part of a buffer may share it with another view: structuredClone keeps that.
    if (v instanceof DataView || v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength) {
      throw NOT_PLAIN;
    }
    return (v as Uint8Array).slice();
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  const out: Record<string, unknown> = {};
  const o = v as Record<string, unknown>;
  for (const k in o) out[k] = copy(o[k], depth + 1);
  return out;
}

/** A deep copy of a state record for a load to decode into, like `structuredClone` but cheaper. */
export function cloneRecord<T>(record: T): T {
  try {
    return copy(record, 0) as T;
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
    return structuredClone(record);
  }
}
