/**
 * QEMU's VMStateFlags (include/migration/vmstate.h). They never appear on the wire; they decide
 * how the engine finds a field's elements. Kept with QEMU's values so registration checks,
 * `dump-vmstate` and error messages speak QEMU's language.
 * @module
 */

/** Flag bits of a {@link VmStateField}, with QEMU's names and values. */
export const VMS = {
  SINGLE: 0x001,
  POINTER: 0x002,
  ARRAY: 0x004,
  STRUCT: 0x008,
  VARRAY_INT32: 0x010,
  BUFFER: 0x020,
  ARRAY_OF_POINTER: 0x040,
  VARRAY_UINT16: 0x080,
  VBUFFER: 0x100,
  MULTIPLY: 0x200,
  VARRAY_UINT8: 0x400,
  VARRAY_UINT32: 0x800,
  MUST_EXIST: 0x1000,
  ALLOC: 0x2000,
  MULTIPLY_ELEMENTS: 0x4000,
  VSTRUCT: 0x8000,
  /** The 2026 per-element presence marker with allocation on load (§2.8). */
  ARRAY_OF_POINTER_AUTO_ALLOC: 0x10000,
} as const;

/** Any of the variable-count flags. */
export const VMS_VARRAY_ANY = VMS.VARRAY_INT32 | VMS.VARRAY_UINT8 | VMS.VARRAY_UINT16 |
  VMS.VARRAY_UINT32;

/** Byte marker written for a NULL slot of a pointer array. */
export const NULLPTR_MARKER = 0x30;
/** Byte marker written before a present slot of an AUTO_ALLOC pointer array. */
export const VALIDPTR_MARKER = 0x31;

/** Names of the set flags, for messages and dumps. */
export function flagNames(flags: number): string[] {
  return Object.entries(VMS).filter(([, v]) => (flags & v) !== 0).map(([k]) => `VMS_${k}`);
}
