/**
 * The shape of a VMState description: QEMU's VMStateDescription and VMStateField, addressed by
 * property name instead of byte offset. Devices build these with the helpers in `fields.ts`;
 * the engine compiles and checks them once (`check.ts`) and then walks them to save, load,
 * describe (vmdesc) and dump them.
 * @module
 */
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import type { QemuJsonWriter } from "../json/qemu_json_writer.ts";

/** Any device state record: a plain object whose properties the fields name. */
// deno-lint-ignore no-explicit-any
export type StateRecord = Record<string, any>;

/** What a leaf codec learns about the element it reads or writes. */
export interface ElementContext {
  /** The field being processed. */
  readonly field: VmStateField;
  /** Element size in bytes (VBUFFER sizes resolved). */
  readonly size: number;
  /** Version in force for the containing description. */
  readonly version: number;
  /** JSON writer when a vmdesc is being produced (save side). */
  readonly json?: QemuJsonWriter;
  /** The object that owns the field (tmp fields use it as the parent). */
  readonly opaque: StateRecord;
  /** Nested walker for infos that recurse (tmp, qtailq, qlist, gtree). */
  readonly nested: NestedWalker;
}

/** Lets recursive infos run a nested description through the same engine. */
export interface NestedWalker {
  /** Save `opaque` through `vmsd` at `version`, writing its vmdesc members into the open JSON object. */
  save(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version?: number,
    json?: QemuJsonWriter,
  ): void;
  /** Load into `opaque` through `vmsd` at `version`. */
  load(vmsd: VmStateDescription, opaque: StateRecord, version: number): void;
  /** A zeroed record for `vmsd` (allocation of list/tree elements). */
  create(vmsd: VmStateDescription): StateRecord;
}

/** A leaf codec, like QEMU's VMStateInfo: its `name` is the vmdesc `type`. */
export interface VmStateInfo {
  /** The vmdesc/JSON type name, exactly as QEMU spells it (e.g. "uint8 equal", "int32 le"). */
  readonly name: string;
  /** Natural element size in bytes, used when a field does not give one. */
  readonly size: number;
  /** Read one element; returns the value to store (given the current one, for `equal` checks). */
  get(r: StreamReader, current: unknown, ctx: ElementContext): unknown;
  /** Write one element. */
  put(w: StreamWriter, value: unknown, ctx: ElementContext): void;
  /** A zero value for fresh records. */
  zero(size: number): unknown;
}

/**
 * The property paths of a record type: its keys, and `a.b` into nested plain objects (three
 * levels). For an untyped record it is any string. Field keys are checked against it, so a
 * misspelt key is a type error instead of zeros on the wire.
 */
export type KeyPath<T, D extends number = 3> = [D] extends [never] ? never
  : string extends keyof T ? string
  : {
    [K in keyof T & string]: T[K] extends Leafish ? K
      : T[K] extends object ? K | `${K}.${KeyPath<T[K], Prev[D]>}`
      : K;
  }[keyof T & string];

type Prev = [never, 0, 1, 2];
// deno-lint-ignore no-explicit-any
type Leafish = number | bigint | string | boolean | ArrayLike<any> | Map<any, any> | null;

/** How a field reaches its value when it is not a plain property (converted or constant). */
export interface FieldAccess {
  /** The value to save. */
  get(opaque: StateRecord): unknown;
  /** Store a loaded value (may convert, or throw a StateValidationError to reject it). */
  set(opaque: StateRecord, value: unknown): void;
}

/** A hook's way to fail: return false or throw a MigrationError. */
export type HookResult = void | boolean;

/**
 * One row of a description table (QEMU's VMStateField). `P` is the property path(s) of the
 * record it reads (its key, count and size properties), checked by `vmsd<T>()` against `T`.
 */
export interface VmStateField<P extends string = string> {
  /** Name used in vmdesc JSON and messages. */
  readonly name: string;
  /** Property path on the owning record (dots walk into nested objects); defaults to `name`. */
  readonly key?: string;
  /** Type-level only: the property paths this row reads (never set at run time). */
  readonly paths?: P;
  /** Reaches the value through accessors instead of `key` (conversions, constants). */
  readonly access?: FieldAccess;
  /** Leaf codec; absent for STRUCT/VSTRUCT. */
  readonly info?: VmStateInfo;
  /** QEMU VMS_* flag bits. */
  readonly flags: number;
  /** Element size in bytes; for VBUFFER|MULTIPLY the multiplier. */
  readonly size?: number;
  /** For buffers: first byte of the element sent (BUFFER_START_MIDDLE). */
  readonly start?: number;
  /** Element count for ARRAY; factor for MULTIPLY_ELEMENTS. */
  readonly num?: number;
  /** Property holding the element count, for VARRAY_* (QEMU's num_offset). */
  readonly countKey?: string;
  /** The count/size property is machine configuration, not an earlier field of the stream. */
  readonly countIsConfig?: boolean;
  /** Most elements a loaded count may claim (the device's own limit); checked before allocating. */
  readonly maxCount?: number;
  /** Property holding the int32 element size, for VBUFFER (QEMU's size_offset). */
  readonly sizeKey?: string;
  /** Nested description for STRUCT, VSTRUCT, tmp, qtailq, qlist, and the gtree value. */
  readonly vmsd?: VmStateDescription;
  /** gtree key description; absent means direct (be64) keys. */
  readonly keyVmsd?: VmStateDescription;
  /** The field exists when the loaded/saved version is at least this (default 0). */
  readonly versionId?: number;
  /** Inner version for VSTRUCT. */
  readonly structVersionId?: number;
  /** When set, alone decides whether the field exists (QEMU's field_exists). */
  readonly exists?: (opaque: StateRecord, version: number) => boolean;
  /** Extra text for failed `equal` checks (QEMU's err_hint). */
  readonly errHint?: string;
}

/** A state description (QEMU's VMStateDescription). */
export interface VmStateDescription<T extends StateRecord = StateRecord> {
  /** Section idstr for top level, full wire name for subsections ("serial/recv_fifo"). */
  readonly name: string;
  /** Version written on save; the highest accepted on load. */
  readonly versionId: number;
  /** Lowest version accepted on load. */
  readonly minimumVersionId: number;
  /** The field table, in wire order (keys were typed against `T` by `vmsd<T>()`). */
  readonly fields: readonly VmStateField[];
  /** Optional subsections, each sent when its `needed` says so. */
  readonly subsections?: readonly VmStateDescription<T>[];
  /** Blocks migration of the owning device. */
  readonly unmigratable?: boolean;
  /** Ordering priority among sections (higher first); never on the wire. */
  readonly priority?: number;
  /** Saved as a FULL section during setup, before RAM (QEMU 8.0 early_setup). */
  readonly earlySetup?: boolean;
  /** Subsection: whether to send it; top level: whether to send the section at all. */
  needed?(opaque: T): boolean;
  /** Runs before fields are written (fill shadow fields). */
  preSave?(opaque: T): HookResult;
  /** Runs after fields and subsections were written, even when saving failed. */
  postSave?(opaque: T): HookResult;
  /** Runs after version checks, before fields are read. */
  preLoad?(opaque: T): HookResult;
  /** Runs after fields and subsections were read: validate and derive state here. */
  postLoad?(opaque: T, versionId: number): HookResult;
  /** Builds the zeroed record used when a slot or list element is allocated on load. */
  create?(): T;
  /** Registered as a legacy name-only subsection (no `parent/` prefix); see the strict-names extension. */
  readonly legacyName?: boolean;
}
