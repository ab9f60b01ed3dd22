/**
 * Pointer arrays with NULL holes, in the three variants argued on qemu-devel, and what the
 * loader does with one slot in each. The save and load walkers ask this module two questions:
 * does this field put a presence marker before every slot, and what does a slot become given
 * the marker in the stream and what the destination holds.
 *
 * - "nullptr": VMS_ARRAY_OF_POINTER alone (QEMU 2.9 to 10.2). A NULL slot is one 0x30 byte, a
 *   populated slot is its element with no marker, so the destination's own population decides
 *   how the bytes are read. With the `x-ptr-markers` capability every slot gets a marker and a
 *   disagreement becomes a typed error at the slot instead of a misread.
 * - "auto-alloc": VMS_ARRAY_OF_POINTER_AUTO_ALLOC (Peter Xu, 2026). A marker before every slot;
 *   the destination adopts the source's population, allocating fresh records. The table itself
 *   is kept, so the count must fit its capacity.
 * - "alloc": VMS_ALLOC | VMS_ARRAY_OF_POINTER (Fabiano Rosas's RFC 13/17). The same bytes as
 *   auto-alloc; VMS_ALLOC keeps its classic meaning for the table (Peter Xu's point in review):
 *   a POINTER table is allocated anew at the stream's count before the slots are filled.
 * @module
 */
import { StateValidationError, UnknownEntityError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import { createRecord } from "./access.ts";
import { type CompiledField, type PointerVariant, pointerVariant } from "./compile.ts";
import { NULLPTR_MARKER, VALIDPTR_MARKER } from "./flags.ts";

export { type PointerVariant, pointerVariant };

/** True when every slot of the field is preceded by a 0x30/0x31 marker on the wire. */
export function hasSlotMarkers(flags: number, ptrMarkers: boolean): boolean {
  const v = pointerVariant(flags);
  return v === "auto-alloc" || v === "alloc" || (v === "nullptr" && ptrMarkers);
}

/** True when the destination adopts the source's population (allocating present slots). */
export function adoptsSourcePopulation(flags: number): boolean {
  const v = pointerVariant(flags);
  return v === "auto-alloc" || v === "alloc";
}

/** What the loader does with one marked slot. */
export type SlotAction = "clear" | "allocate" | "load-existing" | "skip";

/**
 * Decide one marked slot: `present` is the stream's marker (0x31), `populated` what the
 * destination's slot holds. Allocating variants follow the stream; a plain pointer array under
 * `x-ptr-markers` must agree with the destination, and says which side has what when it does not.
 */
export function slotAction(flags: number, present: boolean, populated: boolean): SlotAction {
  if (adoptsSourcePopulation(flags)) return present ? "allocate" : "clear";
  if (present && populated) return "load-existing";
  if (!present && !populated) return "skip";
  throw new UnknownEntityError(
    present
      ? "The source has this slot populated but it is NULL here, and the field does not allocate (declare it AUTO_ALLOC or ALLOC)"
      : "The source has this slot NULL but it is populated here, and the field does not free",
  );
}

/** The error for a marker byte that is neither 0x30 nor 0x31. */
export function badMarker(marker: number): StateValidationError {
  return new StateValidationError(`Unexpected ptr marker: ${marker}`);
}

/** Returned by {@link takeSlotMarker} when the slot has nothing to load. */
export const SKIP_SLOT: unique symbol = Symbol("skip-slot");

/**
 * Read slot `i`'s presence marker and settle the slot (clear it, keep it, or allocate a zeroed
 * element): the element to load into, or {@link SKIP_SLOT}. Shared by both encodings' loaders.
 */
export function takeSlotMarker(
  r: StreamReader,
  f: CompiledField,
  arr: unknown[],
  i: number,
  size: number,
): unknown {
  const marker = r.u8();
  if (marker !== NULLPTR_MARKER && marker !== VALIDPTR_MARKER) throw badMarker(marker);
  const elem = arr[i];
  const populated = elem !== null && elem !== undefined;
  const action = slotAction(f.field.flags, marker === VALIDPTR_MARKER, populated);
  if (action === "clear") {
    arr[i] = null;
    return SKIP_SLOT;
  }
  if (action === "skip") return SKIP_SLOT;
  if (action === "allocate") {
    const e = f.element;
    const fresh = e.of === "struct" ? createRecord(e.vmsd) : e.info.zero(size);
    arr[i] = fresh;
    return fresh;
  }
  return elem;
}
