/**
 * How the engine reaches a field's elements in a plain state record: property paths instead of
 * QEMU's `opaque + offset`, element counts and sizes read from the record (VARRAY/VBUFFER), and
 * zeroed records for allocation on load.
 * @module
 */
import { SaveError, StateValidationError } from "../errors.ts";
import type { StateRecord, VmStateDescription, VmStateField } from "./description.ts";
import { VMS } from "./flags.ts";

const pathCache = new WeakMap<VmStateField, string[]>();

function segments(f: VmStateField): string[] {
  let s = pathCache.get(f);
  if (!s) {
    s = (f.key ?? f.name).split(".");
    pathCache.set(f, s);
  }
  return s;
}

function walkTo(obj: StateRecord, segs: string[], create: boolean): StateRecord | undefined {
  let cur: StateRecord | undefined = obj;
  for (let i = 0; i < segs.length - 1 && cur; i++) {
    let next: StateRecord | undefined = cur[segs[i]];
    if (next === undefined && create) {
      next = {};
      cur[segs[i]] = next;
    }
    cur = next;
  }
  return cur;
}

/** Read the property a field names (dots walk into nested objects). */
export function getField(opaque: StateRecord, f: VmStateField): unknown {
  const segs = segments(f);
  if (segs.length === 1) return opaque[segs[0]];
  return walkTo(opaque, segs, false)?.[segs[segs.length - 1]];
}

/** Write the property a field names, creating intermediate objects. */
export function setField(opaque: StateRecord, f: VmStateField, value: unknown): void {
  const segs = segments(f);
  if (segs.length === 1) {
    opaque[segs[0]] = value;
    return;
  }
  walkTo(opaque, segs, true)![segs[segs.length - 1]] = value;
}

function readKey(opaque: StateRecord, key: string): unknown {
  const segs = key.split(".");
  let cur: unknown = opaque;
  for (const s of segs) cur = (cur as StateRecord | undefined)?.[s];
  return cur;
}

function countBounds(flags: number): [number, number] {
  if (flags & VMS.VARRAY_INT32) return [-0x80000000, 0x7fffffff];
  if (flags & VMS.VARRAY_UINT8) return [0, 0xff];
  if (flags & VMS.VARRAY_UINT16) return [0, 0xffff];
  return [0, 0xffffffff];
}

/** Number of elements of a field in this record (QEMU's vmstate_n_elems), validated. */
export function elementCount(opaque: StateRecord, f: VmStateField, saving: boolean): number {
  let n = 1;
  const fl = f.flags;
  if (fl & VMS.ARRAY) {
    n = f.num ?? 0;
  } else if (fl & (VMS.VARRAY_INT32 | VMS.VARRAY_UINT8 | VMS.VARRAY_UINT16 | VMS.VARRAY_UINT32)) {
    const raw = readKey(opaque, f.countKey!);
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    const [lo, hi] = countBounds(fl);
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      const msg = `Count "${f.countKey}" of field "${f.name}" is ${String(raw)}, not a valid count`;
      throw saving ? new SaveError(msg) : new StateValidationError(msg);
    }
    if (v < 0) {
      const msg = `Count "${f.countKey}" of field "${f.name}" is negative (${v})`;
      throw saving ? new SaveError(msg) : new StateValidationError(msg);
    }
    n = v;
  }
  if (fl & VMS.MULTIPLY_ELEMENTS) n *= f.num ?? 1;
  return n;
}

/** Element size in bytes (QEMU's vmstate_size): the field's size, or the int32 VBUFFER size. */
export function elementSize(opaque: StateRecord, f: VmStateField, saving: boolean): number {
  if (f.flags & VMS.VBUFFER) {
    const raw = readKey(opaque, f.sizeKey!);
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      const msg = `Size "${f.sizeKey}" of field "${f.name}" is ${
        String(raw)
      }, not a valid int32 size`;
      throw saving ? new SaveError(msg) : new StateValidationError(msg);
    }
    return f.flags & VMS.MULTIPLY ? v * (f.size ?? 1) : v;
  }
  return f.size ?? f.info?.size ?? 0;
}

/** True when the field's value is a container of elements rather than the element itself. */
export function isArrayField(f: VmStateField): boolean {
  return (f.flags & (VMS.ARRAY | VMS.VARRAY_INT32 | VMS.VARRAY_UINT8 | VMS.VARRAY_UINT16 |
    VMS.VARRAY_UINT32)) !== 0;
}

/** A zeroed record for a description: what QEMU's g_malloc0 gives an allocated element. */
export function createRecord(vmsd: VmStateDescription): StateRecord {
  if (vmsd.create) return vmsd.create();
  const rec: StateRecord = {};
  const fill = (fields: readonly VmStateField[]) => {
    for (const f of fields) {
      if (f.info?.name === "unused_buffer" || (f.flags & VMS.MUST_EXIST && f.num === 0)) continue;
      if (f.info?.name === "tmp") continue;
      if (getField(rec, f) !== undefined) continue;
      const zeroElem = (): unknown => {
        if (f.flags & (VMS.STRUCT | VMS.VSTRUCT)) return createRecord(f.vmsd!);
        return f.info!.zero(f.size ?? f.info!.size);
      };
      let value: unknown;
      if (f.flags & VMS.ARRAY_OF_POINTER) {
        value = Array.from({ length: f.flags & VMS.ARRAY ? f.num! : 0 }, () => null);
      } else if (f.flags & VMS.ARRAY) {
        value = Array.from({ length: f.num! }, zeroElem);
      } else if (isArrayField(f)) {
        value = [];
      } else if (f.flags & VMS.VBUFFER) {
        value = new Uint8Array(0);
      } else {
        value = zeroElem();
      }
      setField(rec, f, value);
    }
  };
  fill(vmsd.fields);
  for (const sub of vmsd.subsections ?? []) {
    const subRec = createRecord(sub);
    for (const [k, v] of Object.entries(subRec)) if (!(k in rec)) rec[k] = v;
  }
  return rec;
}
