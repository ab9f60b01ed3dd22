/**
 * The save walker: QEMU's vmstate_save_state_v, writing a description's fields and needed
 * subsections and, when asked, the matching vmdesc JSON with QEMU's exact layout (names made
 * unique with `[k]`, compressed arrays, `index` per element of other arrays, sizes in bytes
 * actually written).
 * @module
 */
import { MigrationError, SaveError } from "../errors.ts";
import type { QemuJsonWriter } from "../json/qemu_json_writer.ts";
import { StreamWriter } from "../stream/writer.ts";
import { createRecord, elementCount, elementSize, getField, isArrayField } from "./access.ts";
import type {
  ElementContext,
  NestedWalker,
  StateRecord,
  VmStateDescription,
  VmStateField,
} from "./description.ts";
import { NULLPTR_MARKER, VALIDPTR_MARKER, VMS } from "./flags.ts";
import { hasSlotMarkers } from "../extensions/pointer_arrays.ts";
import { writeBracketed } from "../extensions/vmsd_markers.ts";
import { saveBetweenHooks } from "./hooks.ts";

const compressCache = new WeakMap<VmStateField, boolean>();

/** Whether vmdesc may describe only element 0 of this array (QEMU's vmsd_can_compress). */
export function canCompress(f: VmStateField): boolean {
  let c = compressCache.get(f);
  if (c !== undefined) return c;
  c = true;
  if (f.exists) c = false;
  else if (f.flags & VMS.ARRAY_OF_POINTER_AUTO_ALLOC) c = false;
  else if (f.flags & VMS.ARRAY_OF_POINTER && f.flags & VMS.ALLOC) c = false;
  else if (f.flags & VMS.STRUCT) {
    if (!f.vmsd!.fields.every(canCompress)) c = false;
    else if (f.vmsd!.subsections?.length) c = false;
  }
  compressCache.set(f, c);
  return c;
}

const jsonNameCache = new WeakMap<VmStateDescription, Map<VmStateField, string>>();

/** The vmdesc name of a field: its name, or `name[k]` when the name repeats in the table. */
export function jsonFieldName(vmsd: VmStateDescription, f: VmStateField): string {
  let m = jsonNameCache.get(vmsd);
  if (!m) {
    m = new Map();
    const counts = new Map<string, number>();
    for (const g of vmsd.fields) counts.set(g.name, (counts.get(g.name) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const g of vmsd.fields) {
      if (counts.get(g.name)! > 1) {
        const k = seen.get(g.name) ?? 0;
        seen.set(g.name, k + 1);
        m.set(g, `${g.name}[${k}]`);
      } else {
        m.set(g, g.name);
      }
    }
    jsonNameCache.set(vmsd, m);
  }
  return m.get(f) ?? f.name;
}

/** The vmdesc `type` of a field. */
export function jsonTypeName(f: VmStateField): string {
  if (f.flags & VMS.STRUCT) return "struct";
  if (f.flags & VMS.VSTRUCT) return "vstruct";
  return f.info?.name ?? "unknown";
}

/** Protocol extensions the save walker applies (all off: QEMU 7.2's bytes). */
export interface SaveWalkOptions {
  /** `x-ptr-markers`: a presence marker before every pointer-array slot. */
  ptrMarkers?: boolean;
  /** `x-vmsd-markers`: START/END markers around every description. */
  vmsdMarkers?: boolean;
  /** Told the name of each subsection written (vendor minor versions are derived from it). */
  onSubsection?: (name: string) => void;
}

/** Saves descriptions into a stream writer, optionally producing vmdesc JSON alongside. */
export class VmStateSaver implements NestedWalker {
  constructor(private w: StreamWriter, private readonly opts: SaveWalkOptions = {}) {}

  /** Save `opaque` at the description's own version (QEMU's vmstate_save_state). */
  save(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version?: number,
    json?: QemuJsonWriter,
  ): void {
    this.saveV(vmsd, opaque, json, version ?? vmsd.versionId);
  }

  /** Nested walker entry for recursive infos: the JSON goes into the currently open object. */
  load(): void {
    throw new SaveError("Internal: load called on a saver");
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  private saveV(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    json: QemuJsonWriter | undefined,
    version: number,
  ): void {
    saveBetweenHooks(vmsd, opaque, () => {
      // x-vmsd-markers: the payload goes to a scratch writer first, so its length can lead it.
      const outer = this.w;
      if (this.opts.vmsdMarkers) this.w = new StreamWriter(undefined, 256);
      try {
        if (json) {
          json.str("vmsd_name", vmsd.name);
          json.int("version", version);
          json.startArray("fields");
        }
        for (const f of vmsd.fields) this.saveField(vmsd, f, opaque, json, version);
        if (json) json.endArray();
        this.saveSubsections(vmsd, opaque, json);
        if (outer !== this.w) writeBracketed(outer, this.w.take());
      } finally {
        this.w = outer;
      }
    });
  }

  private saveField(
    vmsd: VmStateDescription,
    f: VmStateField,
    opaque: StateRecord,
    json: QemuJsonWriter | undefined,
    version: number,
  ): void {
    const exists = f.exists ? f.exists(opaque, version) : (f.versionId ?? 0) <= version;
    if (!exists) {
      if (f.flags & VMS.MUST_EXIST) {
        throw new SaveError(`Output state validation failed: ${vmsd.name}/${f.name}`);
      }
      return;
    }
    const fl = f.flags;
    let n: number, size: number;
    try {
      n = elementCount(opaque, f, true);
      size = elementSize(opaque, f, true);
    } catch (e) {
      throw (e as MigrationError).withPath(`${vmsd.name}.${f.name}`);
    }
    const isArray = isArrayField(f);
    const base = getField(opaque, f) as ArrayLike<unknown> | undefined;
    if (isArray && n > 0 && (!base || (base.length ?? 0) < n)) {
      throw new SaveError(
        `Field "${f.name}" has ${base?.length ?? 0} elements but its count says ${n}`,
        { path: `${vmsd.name}.${f.name}` },
      );
    }
    let loopJson = json;
    // 2026 AUTO_ALLOC, ALLOC|ARRAY_OF_POINTER, or any pointer array under x-ptr-markers.
    const autoAlloc = hasSlotMarkers(fl, this.opts.ptrMarkers === true);
    const compress = !autoAlloc && canCompress(f);
    const jsonName = json ? jsonFieldName(vmsd, f) : "";
    const typeName = jsonTypeName(f);
    const ctx: { -readonly [K in keyof ElementContext]: ElementContext[K] } = {
      field: f,
      size,
      version,
      json: loopJson,
      opaque,
      nested: this,
    };
    // With AUTO_ALLOC, markers and elements share the field's name; each entry's `index` counts
    // the entries so far, which is what analyze-migration.py checks when it gathers them.
    let entry = 0;
    for (let i = 0; i < n; i++) {
      let elem = isArray ? base![i] : base;
      if (autoAlloc) {
        // A presence marker precedes every element.
        const present = elem !== null && elem !== undefined;
        if (loopJson) {
          loopJson.startObject();
          loopJson.str("name", jsonName);
          loopJson.int("index", entry++);
          loopJson.str("type", "ptr-marker");
          loopJson.int("size", 1);
          loopJson.endObject();
        }
        this.w.u8(present ? VALIDPTR_MARKER : NULLPTR_MARKER);
        if (!present) continue;
      }
      if (loopJson) {
        loopJson.startObject();
        loopJson.str("name", jsonName);
        if (autoAlloc) {
          loopJson.int("index", entry++);
        } else if (n > 1) {
          if (compress) loopJson.int("array_len", n);
          else loopJson.int("index", i);
        }
        loopJson.str("type", typeName);
        if (fl & VMS.STRUCT) loopJson.startObject("struct");
      }
      const before = this.w.offset;
      if (fl & VMS.ARRAY_OF_POINTER && (elem === null || elem === undefined) && size) {
        this.w.u8(NULLPTR_MARKER);
      } else if (fl & (VMS.STRUCT | VMS.VSTRUCT)) {
        if (elem === null || elem === undefined || typeof elem !== "object") {
          throw new SaveError(`Struct field "${f.name}" has no record`, {
            path: `${vmsd.name}.${f.name}${isArray ? `[${i}]` : ""}`,
          });
        }
        const inner = fl & VMS.VSTRUCT ? f.structVersionId! : f.vmsd!.versionId;
        this.saveV(f.vmsd!, elem as StateRecord, loopJson, inner);
      } else {
        ctx.json = loopJson;
        if (fl & VMS.ARRAY_OF_POINTER && elem === undefined) elem = null;
        f.info!.put(this.w, elem, ctx);
      }
      if (loopJson) {
        if (fl & VMS.STRUCT) loopJson.endObject();
        loopJson.int("size", this.w.offset - before);
        loopJson.endObject();
        if (compress) loopJson = undefined;
      }
    }
  }

  private saveSubsections(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    json?: QemuJsonWriter,
  ): void {
    let opened = false;
    for (const sub of vmsd.subsections ?? []) {
      if (sub.needed && !sub.needed(opaque)) continue;
      if (json) {
        if (!opened) {
          json.startArray("subsections");
          opened = true;
        }
        json.startObject();
      }
      this.opts.onSubsection?.(sub.name);
      this.w.u8(0x05);
      this.w.str8(sub.name);
      this.w.be32(sub.versionId);
      this.saveV(sub, opaque, json, sub.versionId);
      if (json) json.endObject();
    }
    if (opened) json!.endArray();
  }
}

/** Save one description into a writer; the vmdesc members go into `json`'s open object. */
export function saveState(
  w: StreamWriter,
  vmsd: VmStateDescription,
  opaque: StateRecord,
  json?: QemuJsonWriter,
): void {
  new VmStateSaver(w).save(vmsd, opaque, undefined, json);
}
