/**
 * How tools reach a field's elements in a plain state record: property paths instead of QEMU's
 * `opaque + offset`, element counts and sizes read from the record (VARRAY/VBUFFER), and zeroed
 * records for allocation on load. Each is the compiled field's closure (compile.ts), so tools
 * and walkers share one rule.
 * @module
 */
import { compile, compiledField } from "./compile.ts";
import type { StateRecord, VmStateDescription, VmStateField } from "./description.ts";

/** Read the property a field names (dots walk into nested objects). */
export function getField(opaque: StateRecord, f: VmStateField): unknown {
  return compiledField(f).get(opaque);
}

/** Write the property a field names, creating intermediate objects. */
export function setField(opaque: StateRecord, f: VmStateField, value: unknown): void {
  compiledField(f).set(opaque, value);
}

/** Number of elements of a field in this record (QEMU's vmstate_n_elems), validated. */
export function elementCount(opaque: StateRecord, f: VmStateField, saving: boolean): number {
  return compiledField(f).count(opaque, saving);
}

/** Element size in bytes (QEMU's vmstate_size): the field's size, or the int32 VBUFFER size. */
export function elementSize(opaque: StateRecord, f: VmStateField, saving: boolean): number {
  return compiledField(f).size(opaque, saving);
}

/** True when the field's value is a container of elements rather than the element itself. */
export function isArrayField(f: VmStateField): boolean {
  return compiledField(f).many;
}

/** A zeroed record for a description: what QEMU's g_malloc0 gives an allocated element. */
export function createRecord(vmsd: VmStateDescription): StateRecord {
  if (vmsd.create) return vmsd.create();
  const rec: StateRecord = {};
  for (const cf of compile(vmsd).fields) {
    const k = cf.kind;
    if (k.kind === "unused" || k.kind === "validate") continue;
    if (k.kind === "nested" && cf.typeName === "tmp") continue;
    if (cf.get(rec) !== undefined) continue;
    const e = cf.element;
    const zeroElem = (): unknown =>
      e.of === "struct" ? createRecord(e.vmsd) : e.info.zero(cf.field.size ?? e.info.size);
    let value: unknown;
    if (k.kind === "pointer-array") {
      value = Array.from({ length: k.variable ? 0 : cf.count(rec, false) }, () => null);
    } else if (k.kind === "array") {
      value = k.variable ? [] : Array.from({ length: cf.count(rec, false) }, zeroElem);
    } else if (k.kind === "buffer" && k.variable) {
      value = new Uint8Array(0);
    } else {
      value = zeroElem();
    }
    cf.set(rec, value);
  }
  for (const sub of vmsd.subsections ?? []) {
    const subRec = createRecord(sub);
    for (const [key, v] of Object.entries(subRec)) if (!(key in rec)) rec[key] = v;
  }
  return rec;
}
