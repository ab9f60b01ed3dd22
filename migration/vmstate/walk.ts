/**
 * The field walk every encoding shares: resolving a compiled field against a record (does it
 * exist, how many elements, what size, is the container big enough, what is allocated on load)
 * and stepping through its elements (slot markers, nested records, leaf codecs). The QEMU
 * encoding (save.ts, load.ts) and the self-describing one (extensions/tagged_*.ts) differ only in
 * how they frame descriptions and fields; they call these for everything inside a field.
 * @module
 */
import { type MigrationError, SaveError, StateValidationError } from "../errors.ts";
import type { QemuJsonWriter } from "../json/qemu_json_writer.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import { createRecord } from "./access.ts";
import { boundCount } from "./bound_count.ts";
import type { CompiledField } from "./compile.ts";
import type {
  ElementContext,
  NestedWalker,
  StateRecord,
  VmStateDescription,
} from "./description.ts";
import { NULLPTR_MARKER, VALIDPTR_MARKER } from "./flags.ts";
import { annotatePath } from "./hooks.ts";
import { SKIP_SLOT, takeSlotMarker } from "./pointers.ts";

/** A walker that can save or load a nested record in its own encoding. */
export interface RecordWalker extends NestedWalker {
  /** Save a nested record at `version` (STRUCT elements, pointer slots). */
  saveRecord(
    vmsd: VmStateDescription,
    rec: StateRecord,
    version: number,
    json?: QemuJsonWriter,
  ): void;
  /** Load a nested record written at `version`. */
  loadRecord(vmsd: VmStateDescription, rec: StateRecord, version: number): void;
}

/** A field resolved against one record: element count, element size and the value. */
export interface Resolved {
  /** Element count. */
  n: number;
  /** Element size in bytes. */
  size: number;
  /** The property's value (the container for arrays). */
  base: unknown;
}

/**
 * Save side: resolve `cf` in `opaque`, or undefined when the field does not exist at `version`
 * (a MUST_EXIST field that does not is an error). Checks the container holds `n` elements.
 */
export function resolveForSave(
  owner: string,
  cf: CompiledField,
  opaque: StateRecord,
  version: number,
): Resolved | undefined {
  if (!cf.exists(opaque, version)) {
    if (cf.mustExist) throw new SaveError(`Output state validation failed: ${owner}/${cf.name}`);
    return undefined;
  }
  let n: number, size: number;
  try {
    n = cf.count(opaque, true);
    size = cf.size(opaque, true);
  } catch (e) {
    throw (e as MigrationError).withPath(`${owner}.${cf.name}`);
  }
  const base = cf.get(opaque) as ArrayLike<unknown> | undefined;
  if (cf.many && n > 0 && (!base || (base.length ?? 0) < n)) {
    throw new SaveError(
      `Field "${cf.name}" has ${base?.length ?? 0} elements but its count says ${n}`,
      { path: `${owner}.${cf.name}` },
    );
  }
  return { n, size, base };
}

/**
 * Load side: resolve `cf` in `opaque` for `n` elements (the description's count, or the
 * stream's where the encoding carries one), allocating what the field allocates and checking
 * the container's capacity. Errors are raw: the caller adds the field to the path.
 */
export function resolveForLoad(
  r: StreamReader,
  cf: CompiledField,
  opaque: StateRecord,
  n: number,
  size: number,
): unknown {
  let base = cf.get(opaque);
  // QEMU allocates size * n bytes when that is non-zero, where size is the element's C size.
  // Here struct elements and variable-size infos (capability) carry no byte size: count them
  // as at least one byte each, so they are allocated whenever n > 0.
  const perElem = cf.element.of === "struct" || (cf.many && size === 0) ? 1 : size;
  if (cf.allocates && perElem * n !== 0) {
    base = allocate(r, cf, n, size, perElem, base);
    cf.set(opaque, base);
  }
  if (cf.many) {
    const cap = (base as ArrayLike<unknown> | undefined)?.length ?? 0;
    if (n > cap) {
      throw new StateValidationError(
        `Count ${n} of field "${cf.name}" exceeds its capacity of ${cap} elements`,
      );
    }
  }
  return base;
}

/**
 * The one place a load allocates: the claimed `n` elements are bounded by the description's
 * maximum and by the bytes that have arrived before anything is allocated (`boundCount`).
 */
function allocate(
  r: StreamReader,
  cf: CompiledField,
  n: number,
  size: number,
  perElem: number,
  old: unknown,
): unknown {
  boundCount(r, n, perElem, `allocation for "${cf.name}"`, cf.field.maxCount);
  const e = cf.element;
  if (!cf.many) return e.of === "leaf" ? e.info.zero(size) : createRecord(e.vmsd);
  if (cf.variant) return Array.from({ length: n }, () => null);
  if (e.of === "struct") return Array.from({ length: n }, () => createRecord(e.vmsd));
  if (ArrayBuffer.isView(old) && !(old instanceof DataView)) {
    const Ctor =
      (old as unknown as { constructor: new (n: number) => ArrayLike<unknown> }).constructor;
    return new Ctor(n);
  }
  return Array.from({ length: n }, () => e.info.zero(size));
}

/**
 * Write a resolved field's elements: a presence marker before each slot when `markers`, the
 * nested record or the leaf's bytes, and (QEMU encoding) the vmdesc entry of each element.
 */
export function saveElements(
  w: StreamWriter,
  walker: RecordWalker,
  owner: string,
  cf: CompiledField,
  opaque: StateRecord,
  version: number,
  res: Resolved,
  markers: boolean,
  json?: QemuJsonWriter,
): void {
  const { n, size, base } = res;
  const many = cf.many;
  const arr = base as ArrayLike<unknown>;
  const e = cf.element;
  const compress = !markers && cf.compress;
  const ctx: { -readonly [K in keyof ElementContext]: ElementContext[K] } = {
    field: cf.field,
    size,
    version,
    json,
    opaque,
    nested: walker,
  };
  let loopJson = json;
  // With markers, markers and elements share the field's name; each entry's `index` counts the
  // entries so far, which is what analyze-migration.py checks when it gathers them.
  let entry = 0;
  for (let i = 0; i < n; i++) {
    let elem = many ? arr[i] : base;
    if (markers) {
      const present = elem !== null && elem !== undefined;
      if (loopJson) {
        loopJson.startObject();
        loopJson.str("name", cf.jsonName);
        loopJson.int("index", entry++);
        loopJson.str("type", "ptr-marker");
        loopJson.int("size", 1);
        loopJson.endObject();
      }
      w.u8(present ? VALIDPTR_MARKER : NULLPTR_MARKER);
      if (!present) continue;
    }
    if (loopJson) {
      loopJson.startObject();
      loopJson.str("name", cf.jsonName);
      if (markers) loopJson.int("index", entry++);
      else if (n > 1) {
        if (compress) loopJson.int("array_len", n);
        else loopJson.int("index", i);
      }
      loopJson.str("type", cf.typeName);
      if (cf.typeName === "struct") loopJson.startObject("struct");
    }
    const before = w.offset;
    if (cf.variant && (elem === null || elem === undefined) && size) {
      w.u8(NULLPTR_MARKER);
    } else if (e.of === "struct") {
      if (elem === null || elem === undefined || typeof elem !== "object") {
        throw new SaveError(`Struct field "${cf.name}" has no record`, {
          path: `${owner}.${cf.name}${many ? `[${i}]` : ""}`,
        });
      }
      walker.saveRecord(e.vmsd, elem as StateRecord, e.version, loopJson);
    } else {
      ctx.json = loopJson;
      if (cf.variant && elem === undefined) elem = null;
      e.info.put(w, elem, ctx);
    }
    if (loopJson) {
      if (cf.typeName === "struct") loopJson.endObject();
      loopJson.int("size", w.offset - before);
      loopJson.endObject();
      if (compress) loopJson = undefined;
    }
  }
}

/**
 * Read a resolved field's elements into `opaque`: slot markers when `markers` (else QEMU's
 * 0x30 for a NULL slot the destination also has), nested records created where missing, leaf
 * values stored. An error's path gets `prefix[i]` (or `prefix` for a single element).
 */
export function loadElements(
  r: StreamReader,
  walker: RecordWalker,
  cf: CompiledField,
  opaque: StateRecord,
  version: number,
  n: number,
  size: number,
  base: unknown,
  markers: boolean,
  prefix: string,
): void {
  const many = cf.many;
  const arr = base as unknown[];
  const e = cf.element;
  const ctx: ElementContext = { field: cf.field, size, version, opaque, nested: walker };
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    try {
      let elem = many ? arr[i] : base;
      if (markers) {
        elem = takeSlotMarker(r, cf, arr, i, size);
        if (elem === SKIP_SLOT) continue;
      } else if (cf.variant && (elem === null || elem === undefined) && size) {
        const marker = r.u8();
        if (marker !== NULLPTR_MARKER) {
          throw new StateValidationError(
            `vmstate: get_nullptr expected VMS_NULLPTR_MARKER, got 0x${marker.toString(16)}`,
          );
        }
        continue;
      }
      if (e.of === "struct") {
        if (elem === null || elem === undefined || typeof elem !== "object") {
          elem = createRecord(e.vmsd);
          if (many) arr[i] = elem;
          else cf.set(opaque, elem);
        }
        walker.loadRecord(e.vmsd, elem as StateRecord, e.version);
      } else {
        const v = e.info.get(r, elem, ctx);
        if (many) arr[i] = v;
        // Infos that store nothing (unused_buffer, tmp) hand back the current value: leave the
        // record alone rather than creating an `unused: undefined` property.
        else if (!Object.is(v, elem)) cf.set(opaque, v);
      }
    } catch (err) {
      throw annotatePath(err, many ? `${prefix}[${i}]` : prefix, at);
    }
  }
}
