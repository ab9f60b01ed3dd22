/**
 * The pointer-array protocols as the `x-ptr-markers` capability sees them. The slot rules are
 * part of the pointer-array field kind and live with it in `vmstate/pointers.ts`; this module
 * names them for the extension catalogue and its tests.
 * @module
 */
export {
  adoptsSourcePopulation,
  badMarker,
  hasSlotMarkers,
  type PointerVariant,
  pointerVariant,
  SKIP_SLOT,
  type SlotAction,
  slotAction,
  takeSlotMarker,
} from "../vmstate/pointers.ts";
