/**
 * The one compiled form of a description. A {@link VmStateDescription} keeps QEMU's table shape
 * (flags included, for dump-vmstate and the static checker); `compile()` reads those flags once
 * and turns every row into a {@link CompiledField}: a typed kind, the field-exists rule, the
 * count, size and property accessors as closures, and its vmdesc name and type. The QEMU
 * encoding, the self-describing encoding, vmdesc, inspect paths and diff all walk this form, so
 * no walker re-reads a flag or repeats a rule.
 * @module
 */
import { SaveError, StateValidationError } from "../errors.ts";
import type { StateRecord, VmStateDescription, VmStateField, VmStateInfo } from "./description.ts";
import { VMS, VMS_VARRAY_ANY } from "./flags.ts";

/** Which of the three pointer-array protocols argued on qemu-devel a field uses. */
export type PointerVariant = "nullptr" | "auto-alloc" | "alloc";

/** What one element of a field is: a leaf codec's value, or a nested record. */
export type ElementKind =
  | { readonly of: "leaf"; readonly info: VmStateInfo }
  | {
    readonly of: "struct";
    readonly vmsd: VmStateDescription;
    /** Version the nested record is written at: its own (STRUCT) or fixed (VSTRUCT). */
    readonly version: number;
  };

/** A field's kind: the discriminated union every walker switches on instead of flags. */
export type FieldKind =
  | { readonly kind: "scalar"; readonly element: ElementKind & { of: "leaf" } }
  | {
    readonly kind: "buffer";
    readonly element: ElementKind & { of: "leaf" };
    /** VBUFFER: the byte size is a property of the record. */
    readonly variable: boolean;
  }
  | { readonly kind: "array"; readonly element: ElementKind; readonly variable: boolean }
  | { readonly kind: "struct"; readonly element: ElementKind & { of: "struct" } }
  | {
    readonly kind: "pointer-array";
    readonly element: ElementKind;
    readonly variant: PointerVariant;
    readonly variable: boolean;
  }
  | { readonly kind: "unused"; readonly element: ElementKind & { of: "leaf" } }
  | { readonly kind: "validate"; readonly element: ElementKind & { of: "leaf" } }
  | { readonly kind: "nested"; readonly element: ElementKind & { of: "leaf" } };

/** One compiled row: everything a walker needs, decided once. */
export interface CompiledField {
  /** The row it was compiled from (flags kept for dumps and the static checker). */
  readonly field: VmStateField;
  /** The wire name (QEMU's field name). */
  readonly name: string;
  /** The vmdesc name: `name`, or `name[k]` when the name repeats in the table. */
  readonly jsonName: string;
  /** The vmdesc `type`. */
  readonly typeName: string;
  /** The property path on the record (defaults to the wire name). */
  readonly key: string;
  /** The typed kind. */
  readonly kind: FieldKind;
  /** Shortcut for `kind.element`. */
  readonly element: ElementKind;
  /** True when the value is a container of elements rather than the element itself. */
  readonly many: boolean;
  /** The pointer-array protocol, when the field is one. */
  readonly variant: PointerVariant | undefined;
  /** VMS_POINTER | VMS_ALLOC: the value is allocated on load. */
  readonly allocates: boolean;
  /** VMS_MUST_EXIST: a field gated off by version or test is an error. */
  readonly mustExist: boolean;
  /** False for rows that carry no information (unused padding, validate checks). */
  readonly transmitted: boolean;
  /** Whether vmdesc may describe only element 0 (QEMU's vmsd_can_compress). */
  readonly compress: boolean;
  /** QEMU's field_exists: the `exists` test, else the version gate. */
  exists(opaque: StateRecord, version: number): boolean;
  /** Number of elements in this record (QEMU's vmstate_n_elems), validated. */
  count(opaque: StateRecord, saving: boolean): number;
  /** Element size in bytes (QEMU's vmstate_size), validated. */
  size(opaque: StateRecord, saving: boolean): number;
  /** Read the property. */
  get(opaque: StateRecord): unknown;
  /** Write the property, creating intermediate objects. */
  set(opaque: StateRecord, value: unknown): void;
}

/** A compiled description: its rows and subsections, compiled once and cached. */
export interface CompiledDescription {
  /** The description compiled. */
  readonly vmsd: VmStateDescription;
  /** Rows in wire order. */
  readonly fields: readonly CompiledField[];
  /** Rows by vmdesc name (the self-describing loader matches entries by it). */
  readonly byJsonName: ReadonlyMap<string, CompiledField>;
  /** Subsections by wire name. */
  readonly subsections: ReadonlyMap<string, VmStateDescription>;
}

const cache = new WeakMap<VmStateDescription, CompiledDescription>();
const fieldCache = new WeakMap<VmStateField, CompiledField>();

/** The compiled form of a description (built on first use, then cached). */
export function compile(vmsd: VmStateDescription): CompiledDescription {
  let c = cache.get(vmsd);
  if (c) return c;
  const counts = new Map<string, number>();
  for (const g of vmsd.fields) counts.set(g.name, (counts.get(g.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  const fields = vmsd.fields.map((f) => {
    let jsonName = f.name;
    if (counts.get(f.name)! > 1) {
      const k = seen.get(f.name) ?? 0;
      seen.set(f.name, k + 1);
      jsonName = `${f.name}[${k}]`;
    }
    return compileField(f, jsonName);
  });
  c = {
    vmsd,
    fields,
    byJsonName: new Map(fields.map((cf) => [cf.jsonName, cf])),
    subsections: new Map((vmsd.subsections ?? []).map((s) => [s.name, s])),
  };
  cache.set(vmsd, c);
  return c;
}

/** The compiled form of one row (compiled alone when no description containing it was). */
export function compiledField(f: VmStateField): CompiledField {
  return fieldCache.get(f) ?? compileField(f, f.name);
}

/** The variant of a VMS_ARRAY_OF_POINTER field's flags, or undefined for any other field. */
export function pointerVariant(flags: number): PointerVariant | undefined {
  if (!(flags & VMS.ARRAY_OF_POINTER)) return undefined;
  if (flags & VMS.ARRAY_OF_POINTER_AUTO_ALLOC) return "auto-alloc";
  if (flags & VMS.ALLOC) return "alloc";
  return "nullptr";
}

function kindOf(f: VmStateField): FieldKind {
  const fl = f.flags;
  const element: ElementKind = fl & (VMS.STRUCT | VMS.VSTRUCT)
    ? {
      of: "struct",
      vmsd: f.vmsd!,
      version: fl & VMS.VSTRUCT ? f.structVersionId! : f.vmsd!.versionId,
    }
    : { of: "leaf", info: f.info! };
  const variable = (fl & VMS_VARRAY_ANY) !== 0;
  const variant = pointerVariant(fl);
  if (variant) return { kind: "pointer-array", element, variant, variable };
  if (fl & VMS.ARRAY && fl & VMS.MUST_EXIST && f.num === 0) {
    return { kind: "validate", element: element as ElementKind & { of: "leaf" } };
  }
  if (fl & (VMS.ARRAY | VMS_VARRAY_ANY)) return { kind: "array", element, variable };
  if (element.of === "struct") return { kind: "struct", element };
  const info = element.info;
  if (info.name === "unused_buffer") return { kind: "unused", element };
  if (fl & (VMS.BUFFER | VMS.VBUFFER)) {
    return { kind: "buffer", element, variable: (fl & VMS.VBUFFER) !== 0 };
  }
  if (info.name === "tmp" || info.name === "qtailq" || info.name === "qlist") {
    return { kind: "nested", element };
  }
  if (info.name === "gtree") return { kind: "nested", element };
  return { kind: "scalar", element };
}

/** Property path closures: one segment is a plain property, more walk nested objects. */
function accessors(key: string): Pick<CompiledField, "get" | "set"> {
  const segs = key.split(".");
  if (segs.length === 1) {
    return { get: (o) => o[key], set: (o, v) => void (o[key] = v) };
  }
  const last = segs[segs.length - 1];
  const parent = (o: StateRecord, create: boolean): StateRecord | undefined => {
    let cur: StateRecord | undefined = o;
    for (let i = 0; i < segs.length - 1 && cur; i++) {
      let next: StateRecord | undefined = cur[segs[i]];
      if (next === undefined && create) cur[segs[i]] = next = {};
      cur = next;
    }
    return cur;
  };
  return { get: (o) => parent(o, false)?.[last], set: (o, v) => void (parent(o, true)![last] = v) };
}

/** Read a dotted property path (count and size properties). */
export function readPath(opaque: StateRecord, key: string): unknown {
  let cur: unknown = opaque;
  for (const s of key.split(".")) cur = (cur as StateRecord | undefined)?.[s];
  return cur;
}

function countBounds(flags: number): [number, number] {
  if (flags & VMS.VARRAY_INT32) return [-0x80000000, 0x7fffffff];
  if (flags & VMS.VARRAY_UINT8) return [0, 0xff];
  if (flags & VMS.VARRAY_UINT16) return [0, 0xffff];
  return [0, 0xffffffff];
}

function invalid(saving: boolean, msg: string): never {
  throw saving ? new SaveError(msg) : new StateValidationError(msg);
}

function counter(f: VmStateField): CompiledField["count"] {
  const fl = f.flags;
  const mult = fl & VMS.MULTIPLY_ELEMENTS ? f.num ?? 1 : 1;
  if (fl & VMS.ARRAY) {
    const n = (f.num ?? 0) * mult;
    return () => n;
  }
  if (!(fl & VMS_VARRAY_ANY)) return () => mult;
  const [lo, hi] = countBounds(fl);
  const key = f.countKey!;
  return (opaque, saving) => {
    const raw = readPath(opaque, key);
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      invalid(saving, `Count "${key}" of field "${f.name}" is ${String(raw)}, not a valid count`);
    }
    if (v < 0) invalid(saving, `Count "${key}" of field "${f.name}" is negative (${v})`);
    return v * mult;
  };
}

function sizer(f: VmStateField): CompiledField["size"] {
  if (!(f.flags & VMS.VBUFFER)) {
    const size = f.size ?? f.info?.size ?? 0;
    return () => size;
  }
  const key = f.sizeKey!;
  const mult = f.flags & VMS.MULTIPLY ? f.size ?? 1 : 1;
  return (opaque, saving) => {
    const raw = readPath(opaque, key);
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      invalid(
        saving,
        `Size "${key}" of field "${f.name}" is ${String(raw)}, not a valid int32 size`,
      );
    }
    return v * mult;
  };
}

const ALWAYS = () => true;

function existence(f: VmStateField): CompiledField["exists"] {
  if (f.exists) return f.exists;
  const since = f.versionId ?? 0;
  return since <= 0 ? ALWAYS : (_o, version) => since <= version;
}

function compressible(f: VmStateField): boolean {
  if (f.exists) return false;
  if (f.flags & VMS.ARRAY_OF_POINTER_AUTO_ALLOC) return false;
  if (f.flags & VMS.ARRAY_OF_POINTER && f.flags & VMS.ALLOC) return false;
  if (f.flags & VMS.STRUCT) {
    const inner = compile(f.vmsd!);
    return inner.fields.every((g) => g.compress) && !f.vmsd!.subsections?.length;
  }
  return true;
}

function typeNameOf(f: VmStateField): string {
  if (f.flags & VMS.STRUCT) return "struct";
  if (f.flags & VMS.VSTRUCT) return "vstruct";
  return f.info?.name ?? "unknown";
}

function compileField(f: VmStateField, jsonName: string): CompiledField {
  const kind = kindOf(f);
  const key = f.key ?? f.name;
  const cf: CompiledField = {
    field: f,
    name: f.name,
    jsonName,
    typeName: typeNameOf(f),
    key,
    kind,
    element: kind.element,
    many: kind.kind === "array" || kind.kind === "pointer-array" || kind.kind === "validate",
    variant: kind.kind === "pointer-array" ? kind.variant : undefined,
    allocates: (f.flags & VMS.POINTER) !== 0 && (f.flags & VMS.ALLOC) !== 0,
    mustExist: (f.flags & VMS.MUST_EXIST) !== 0,
    transmitted: kind.kind !== "unused" && kind.kind !== "validate",
    compress: compressible(f),
    exists: existence(f),
    count: counter(f),
    size: sizer(f),
    ...(f.access ? { get: f.access.get, set: f.access.set } : accessors(key)),
  };
  fieldCache.set(f, cf);
  return cf;
}
