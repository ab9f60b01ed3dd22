/**
 * Builders that make a device's description read like QEMU's tables:
 * `uint8("lsr")`, `uint16("divider", { version: 2 })`, `structArray("queues", vmstateQueue, 8)`.
 * Each returns a plain {@link VmStateField}; {@link vmsd} checks the whole table at build time.
 * @module
 */
import type {
  FieldAccess,
  KeyPath,
  StateRecord,
  VmStateDescription,
  VmStateField,
  VmStateInfo,
} from "./description.ts";
import { checkDescription, type CheckOptions } from "./check.ts";
import { VMS } from "./flags.ts";
import * as I from "./infos.ts";

/** Options every field builder accepts; `K` is the property path (typed by `vmsd<T>()`). */
export interface FieldOptions<K extends string = string> {
  /** Property path on the record when it differs from the wire name. */
  key?: K;
  /** First version in which the field exists (QEMU's `_V` macros). */
  version?: number;
  /** Existence predicate (QEMU's `_TEST` macros); overrides `version`. */
  exists?: (opaque: StateRecord, version: number) => boolean;
  /** Extra text shown when an `equal` check fails. */
  errHint?: string;
  /** Extra flag bits (VMS_POINTER, VMS_ALLOC...) for the rare tables that need them. */
  flags?: number;
}

function make<P extends string>(
  name: string,
  info: VmStateInfo,
  flags: number,
  o: FieldOptions = {},
  extra: Partial<VmStateField> = {},
): VmStateField<P> {
  return <VmStateField<P>> {
    name,
    info,
    flags: flags | (o.flags ?? 0),
    key: o.key,
    versionId: o.version,
    exists: o.exists,
    errHint: o.errHint,
    ...extra,
  };
}

/** A scalar builder: the row's property path is `key`, else the wire name. */
export type ScalarBuilder = <const N extends string, const K extends string = N>(
  name: N,
  o?: FieldOptions<K>,
) => VmStateField<NoInfer<K>>;

function scalar(info: VmStateInfo): ScalarBuilder {
  return (name, o) => make(name, info, VMS.SINGLE, o, { size: info.size });
}

/** The same row reaching its value through accessors (conversions, constants), not a key. */
export function withAccess(f: VmStateField, access: FieldAccess): VmStateField<never> {
  return { ...f, access } as VmStateField<never>;
}

/** bool (1 byte). */
export const bool = scalar(I.vmstateBool);
/** int8. */
export const int8 = scalar(I.vmstateInt8);
/** int16. */
export const int16 = scalar(I.vmstateInt16);
/** int32. */
export const int32 = scalar(I.vmstateInt32);
/** int64 (bigint). */
export const int64 = scalar(I.vmstateInt64);
/** uint8. */
export const uint8 = scalar(I.vmstateUint8);
/** uint16. */
export const uint16 = scalar(I.vmstateUint16);
/** uint32. */
export const uint32 = scalar(I.vmstateUint32);
/** uint64 (bigint). */
export const uint64 = scalar(I.vmstateUint64);
/** uint8 that must match the destination's value. */
export const uint8Equal = scalar(I.vmstateUint8Equal);
/** uint16 that must match the destination's value. */
export const uint16Equal = scalar(I.vmstateUint16Equal);
/** int32 that must match the destination's value. */
export const int32Equal = scalar(I.vmstateInt32Equal);
/** uint32 that must match the destination's value. */
export const uint32Equal = scalar(I.vmstateUint32Equal);
/** uint64 that must match the destination's value (vmdesc type "int64 equal"). */
export const uint64Equal = scalar(I.vmstateUint64Equal);
/** int32 accepted only when 0 <= loaded <= local (a bound on a later VARRAY). */
export const int32Le = scalar(I.vmstateInt32Le);
/** A double as CPU_Double_U. */
export const cpuDouble = scalar(I.vmstateCpuDouble);
/** A double as float64 (pre-5.2 QEMU). */
export const float64 = scalar(I.vmstateFloat64);
/** A timer deadline in ns (bigint, -1n when not armed). */
export const timer = scalar(I.vmstateTimer);

/** A fixed array of `num` scalars of `info` (QEMU's VMSTATE_*_ARRAY). */
export function array<const N extends string, const K extends string = N>(
  name: N,
  info: VmStateInfo,
  num: number,
  o?: FieldOptions<K>,
): VmStateField<NoInfer<K>> {
  return make(name, info, VMS.ARRAY, o, { num, size: info.size });
}

/** Count widths a VARRAY can read its count with. */
export type CountType = "int32" | "uint8" | "uint16" | "uint32";

const COUNT_FLAG: Record<CountType, number> = {
  int32: VMS.VARRAY_INT32,
  uint8: VMS.VARRAY_UINT8,
  uint16: VMS.VARRAY_UINT16,
  uint32: VMS.VARRAY_UINT32,
};

/** Options of variable arrays. */
export interface VarrayOptions<K extends string = string> extends FieldOptions<K> {
  /** Width of the count property (default uint32). */
  countType?: CountType;
  /** The count is configuration, not an earlier field in the stream. */
  countIsConfig?: boolean;
  /** Allocate the array on load (VMS_POINTER | VMS_ALLOC). */
  alloc?: boolean;
  /** Multiply the count by this factor (VMS_MULTIPLY_ELEMENTS). */
  multiply?: number;
  /** Most elements a loaded count may claim (the device's own limit), checked before allocating. */
  max?: number;
}

/** The `maxCount` property of a variable array, only when it has one. */
function maxOf(o: { max?: number }): { maxCount?: number } {
  return o.max === undefined ? {} : { maxCount: o.max };
}

function varrayFlags(o: VarrayOptions = {}): number {
  return COUNT_FLAG[o.countType ?? "uint32"] | (o.alloc ? VMS.POINTER | VMS.ALLOC : 0) |
    (o.multiply ? VMS.MULTIPLY_ELEMENTS : 0);
}

/** A variable array of scalars whose count is the property `countKey` (QEMU's VMSTATE_VARRAY_*). */
export function varray<const N extends string, const C extends string, const K extends string = N>(
  name: N,
  info: VmStateInfo,
  countKey: C,
  o: VarrayOptions<K> = {},
): VmStateField<NoInfer<K | C>> {
  return make(name, info, varrayFlags(o), o, {
    countKey,
    size: info.size,
    num: o.multiply,
    countIsConfig: o.countIsConfig,
    ...maxOf(o),
  });
}

/** A nested record (VMSTATE_STRUCT). */
export function struct<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  o?: FieldOptions<K>,
): VmStateField<NoInfer<K>> {
  return { ...make(name, I.vmstateBuffer, VMS.STRUCT, o), info: undefined, vmsd };
}

/** A nested record at a fixed version (VMSTATE_VSTRUCT). */
export function vstruct<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  structVersion: number,
  o?: FieldOptions<K>,
): VmStateField<NoInfer<K>> {
  return {
    ...make(name, I.vmstateBuffer, VMS.VSTRUCT, o),
    info: undefined,
    vmsd,
    structVersionId: structVersion,
  };
}

/** A fixed array of nested records (VMSTATE_STRUCT_ARRAY). */
export function structArray<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  num: number,
  o?: FieldOptions<K>,
): VmStateField<NoInfer<K>> {
  return { ...make(name, I.vmstateBuffer, VMS.STRUCT | VMS.ARRAY, o), info: undefined, vmsd, num };
}

/** A variable array of nested records (VMSTATE_STRUCT_VARRAY_*). */
export function structVarray<
  const N extends string,
  const C extends string,
  const K extends string = N,
>(
  name: N,
  vmsd: VmStateDescription,
  countKey: C,
  o: VarrayOptions<K> = {},
): VmStateField<NoInfer<K | C>> {
  return {
    ...make(name, I.vmstateBuffer, VMS.STRUCT | varrayFlags(o), o),
    info: undefined,
    vmsd,
    countKey,
    num: o.multiply,
    countIsConfig: o.countIsConfig,
    ...maxOf(o),
  };
}

/** Options of pointer arrays. */
export interface PointerArrayOptions<K extends string = string> extends FieldOptions<K> {
  /** Fixed slot count (VMS_ARRAY); otherwise give `countKey`. */
  num?: number;
  /** Property holding the slot count (VARRAY). */
  countKey?: string;
  /** Width of the count property. */
  countType?: CountType;
  /** The count is configuration. */
  countIsConfig?: boolean;
  /** 2026 AUTO_ALLOC: a presence marker per slot, present slots allocated on load. */
  autoAlloc?: boolean;
  /**
   * The Rosas RFC's ALLOC | ARRAY_OF_POINTER: AUTO_ALLOC's bytes, and the table itself is
   * allocated on load at the stream's count (VMS_POINTER | VMS_ALLOC).
   */
  alloc?: boolean;
}

/** An array of pointers to records with NULL holes (VMS_ARRAY_OF_POINTER, 0x30 NULL marker). */
export function pointerArray<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  o: PointerArrayOptions<K>,
): VmStateField<NoInfer<K>> {
  const count = o.countKey ? COUNT_FLAG[o.countType ?? "uint32"] : VMS.ARRAY;
  return {
    ...make(
      name,
      I.vmstateBuffer,
      VMS.STRUCT | VMS.ARRAY_OF_POINTER | count | (o.countKey || o.alloc ? VMS.POINTER : 0) |
        (o.autoAlloc ? VMS.ARRAY_OF_POINTER_AUTO_ALLOC : 0) | (o.alloc ? VMS.ALLOC : 0),
      o,
    ),
    info: undefined,
    vmsd,
    num: o.num,
    countKey: o.countKey,
    countIsConfig: o.countIsConfig,
    size: 1,
  };
}

/** A fixed-size byte buffer, optionally sending only bytes from `start` on (VMSTATE_BUFFER). */
export function buffer<const N extends string, const K extends string = N>(
  name: N,
  size: number,
  o: FieldOptions<K> & { start?: number } = {},
): VmStateField<NoInfer<K>> {
  const start = o.start ?? 0;
  return make(name, I.vmstateBuffer, VMS.BUFFER, o, {
    size: size - start,
    start: start || undefined,
  });
}

/** A byte buffer whose int32 size is the property `sizeKey` (VMSTATE_VBUFFER[_ALLOC]). */
export function vbuffer<const N extends string, const S extends string, const K extends string = N>(
  name: N,
  sizeKey: S,
  o: FieldOptions<K> & { multiply?: number; alloc?: boolean; sizeIsConfig?: boolean } = {},
): VmStateField<NoInfer<K | S>> {
  const flags = VMS.VBUFFER | VMS.POINTER | (o.multiply ? VMS.MULTIPLY : 0) |
    (o.alloc ? VMS.ALLOC : 0);
  return make(name, I.vmstateBuffer, flags, o, {
    sizeKey,
    size: o.multiply,
    countIsConfig: o.sizeIsConfig,
  });
}

/** Retired bytes kept for wire compatibility (VMSTATE_UNUSED). */
export function unused(size: number, o?: FieldOptions): VmStateField<never> {
  return make("unused", I.vmstateUnusedBuffer, 0, o, { size });
}

/** A bitmap of `bitsKey` bits (VMSTATE_BITMAP), stored as bytes, LSB first. */
export function bitmap<const N extends string, const B extends string, const K extends string = N>(
  name: N,
  bitsKey: B,
  o: FieldOptions<K> = {},
): VmStateField<NoInfer<K | B>> {
  return make(name, I.vmstateBitmap, VMS.VBUFFER | VMS.POINTER, o, { sizeKey: bitsKey });
}

/** A list of records (VMSTATE_QTAILQ_V): element records go in a JS array. */
export function qtailq<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  o: FieldOptions<K> = {},
): VmStateField<NoInfer<K>> {
  return make(name, I.vmstateQtailq, 0, o, { vmsd, versionId: o.version ?? vmsd.versionId });
}

/** A list of records (VMSTATE_QLIST_V). */
export function qlist<const N extends string, const K extends string = N>(
  name: N,
  vmsd: VmStateDescription,
  o: FieldOptions<K> = {},
): VmStateField<NoInfer<K>> {
  return make(name, I.vmstateQlist, 0, o, { vmsd, versionId: o.version ?? vmsd.versionId });
}

/** A map of records (VMSTATE_GTREE_V / _DIRECT_KEY_V): direct bigint keys unless `keyVmsd`. */
export function gtree<const N extends string, const K extends string = N>(
  name: N,
  valueVmsd: VmStateDescription,
  o: FieldOptions<K> & { keyVmsd?: VmStateDescription } = {},
): VmStateField<NoInfer<K>> {
  return make(name, I.vmstateGtree, 0, o, {
    vmsd: valueVmsd,
    keyVmsd: o.keyVmsd,
    versionId: o.version ?? valueVmsd.versionId,
    start: o.keyVmsd ? 1 : undefined,
  });
}

/** Fields computed through a temporary `{ parent }` record (VMSTATE_WITH_TMP). */
export function withTmp(vmsd: VmStateDescription, o: FieldOptions = {}): VmStateField<never> {
  return make("tmp", I.vmstateTmp, 0, o, { vmsd });
}

/** A load-time check that writes no bytes (VMSTATE_VALIDATE). */
export function validate(
  name: string,
  check: (opaque: StateRecord, version: number) => boolean,
): VmStateField<never> {
  return { name, flags: VMS.MUST_EXIST | VMS.ARRAY, num: 0, exists: check, info: I.vmstateBool };
}

/** What {@link vmsd} takes: the description minus defaults, its rows' keys typed against `T`. */
export type DescriptionSpec<T extends StateRecord> =
  & Omit<VmStateDescription<T>, "minimumVersionId" | "versionId" | "fields">
  & {
    fields: readonly VmStateField<NoInfer<KeyPath<T>>>[];
    versionId?: number;
    minimumVersionId?: number;
    check?: CheckOptions;
  };

/** Build and check a description (throws VmStateDefinitionError at registration, never at load). */
export function vmsd<T extends StateRecord = StateRecord>(
  spec: DescriptionSpec<T>,
): VmStateDescription<T> {
  const { check, ...rest } = spec;
  const d: VmStateDescription<T> = {
    ...rest,
    versionId: spec.versionId ?? 1,
    minimumVersionId: spec.minimumVersionId ?? spec.versionId ?? 1,
  };
  checkDescription(d as VmStateDescription, check);
  return d;
}
