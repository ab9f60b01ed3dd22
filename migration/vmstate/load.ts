/**
 * The load walker: QEMU's vmstate_load_state and vmstate_subsection_load, made safe for hostile
 * input. Counts and sizes are checked against the capacity of the destination and against what
 * the stream can still deliver before anything is allocated; every failure is a typed
 * MigrationError whose path names the field and element (e.g. `serial/recv_fifo.data[12]`).
 * The walker mutates the record it is given: the section layer hands it a staged copy so a
 * failed load changes nothing.
 * @module
 */
import {
  MigrationError,
  StateValidationError,
  StreamTruncatedError,
  UnknownEntityError,
  VersionMismatchError,
} from "../errors.ts";
import { decodeName, type StreamReader } from "../stream/reader.ts";
import {
  createRecord,
  elementCount,
  elementSize,
  getField,
  isArrayField,
  setField,
} from "./access.ts";
import type {
  ElementContext,
  NestedWalker,
  StateRecord,
  VmStateDescription,
  VmStateField,
} from "./description.ts";
import { NULLPTR_MARKER, VMS } from "./flags.ts";
import { hasSlotMarkers, SKIP_SLOT, takeSlotMarker } from "../extensions/pointer_arrays.ts";
import { subsectionBelongs, type SubsectionMatch } from "../extensions/subsection_names.ts";
import {
  LayoutMismatchError,
  overrunError,
  readEnd,
  readStart,
  skipBracketed,
  VMSD_START_MARKER,
} from "../extensions/vmsd_markers.ts";
import { annotatePath, runLoadHook } from "./hooks.ts";
import { boundCount } from "./bound_count.ts";

/** How subsections are attributed to their parent on load (see extensions/subsection_names.ts). */
export type { SubsectionMatch };

/** Loader policy knobs (QEMU's behaviour by default). */
export interface LoadOptions {
  /** "prefix": QEMU's plain prefix rule; "strict": the name must be `parent/...`. */
  subsectionMatch?: SubsectionMatch;
  /** Reject a subsection that appears twice in one parent (QEMU loads it twice). */
  rejectDuplicateSubsections?: boolean;
  /** `x-ptr-markers`: the stream has a presence marker before every pointer-array slot. */
  ptrMarkers?: boolean;
  /** `x-vmsd-markers`: every description is bracketed by START/END markers. */
  vmsdMarkers?: boolean;
  /** `x-skip-unknown-subsections`: skip a subsection this side lacks (bracketed streams only). */
  skipUnknownSubsections?: boolean;
  /** Told what the loader tolerated (a skipped subsection), for the load report. */
  onNote?: (note: string) => void;
}

const SUBPATH = "\u0000";

const nameLengths = new Map<string, number>();

/** UTF-8 byte length of a description name, computed once per name (hot path). */
function nameByteLength(name: string): number {
  let n = nameLengths.get(name);
  if (n === undefined) {
    n = new TextEncoder().encode(name).length;
    nameLengths.set(name, n);
  }
  return n;
}

/** Loads descriptions from a stream reader into state records. */
export class VmStateLoader implements NestedWalker {
  private readonly match: SubsectionMatch;
  private readonly rejectDuplicates: boolean;
  /** x-vmsd-markers: end of the bracketed description being loaded (nested ones must fit). */
  private limit = Infinity;

  constructor(private readonly r: StreamReader, private readonly opts: LoadOptions = {}) {
    this.match = opts.subsectionMatch ?? "prefix";
    this.rejectDuplicates = opts.rejectDuplicateSubsections ?? true;
  }

  /** Save is not available on a loader; present to satisfy the nested-walker contract. */
  save(): void {
    throw new StateValidationError("Internal: save called on a loader");
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  /** Load `opaque` through `vmsd` at `version` (QEMU's vmstate_load_state). */
  load(vmsd: VmStateDescription, opaque: StateRecord, version: number): void {
    const r = this.r;
    const start = r.offset;
    if (version > vmsd.versionId || version < vmsd.minimumVersionId) {
      throw new VersionMismatchError(vmsd.name, version, vmsd.minimumVersionId, vmsd.versionId, {
        offset: start,
      });
    }
    // x-vmsd-markers: the payload's end is known before any field is read.
    const label = this.opts.vmsdMarkers ? `${vmsd.name} v${version}` : "";
    const end = this.opts.vmsdMarkers ? readStart(r, label, this.limit) : -1;
    const outer = this.limit;
    if (end >= 0) this.limit = end;
    try {
      runLoadHook(
        vmsd.preLoad && (() => vmsd.preLoad!(opaque)),
        `pre load hook failed for: '${vmsd.name}', version_id: ${version}, minimum version_id: ${vmsd.minimumVersionId}`,
        start,
      );
      for (const f of vmsd.fields) {
        if (end < 0) this.loadField(vmsd, f, opaque, version);
        else this.loadFieldWithin(vmsd, f, opaque, version, label, end);
      }
      this.loadSubsections(vmsd, opaque, end);
    } finally {
      this.limit = outer;
    }
    if (end >= 0) readEnd(r, label, end);
    runLoadHook(
      vmsd.postLoad && (() => vmsd.postLoad!(opaque, version)),
      `post load hook failed for: '${vmsd.name}', version_id: ${version}, minimum version_id: ${vmsd.minimumVersionId}`,
      r.offset,
    );
  }

  /** Load a field of a bracketed description: reading past its end marker is a layout mismatch. */
  private loadFieldWithin(
    vmsd: VmStateDescription,
    f: VmStateField,
    opaque: StateRecord,
    version: number,
    label: string,
    end: number,
  ): void {
    const r = this.r;
    const at = r.offset;
    try {
      this.loadField(vmsd, f, opaque, version);
    } catch (e) {
      const crossed = r.offset > end || e instanceof StreamTruncatedError;
      if (!crossed || !(e instanceof MigrationError) || e instanceof LayoutMismatchError) throw e;
      const by = r.offset > end ? r.offset - end : undefined;
      throw overrunError(label, f.name, by, at, e).withPath(`.${f.name}`);
    }
    if (r.offset > end) {
      throw overrunError(label, f.name, r.offset - end, at).withPath(`.${f.name}`);
    }
  }

  /** Under markers: is the 0x05 at the reader a subsection header rather than unknown field bytes? */
  private looksLikeSubsection(nameLen: number, end: number): boolean {
    const head = this.r.peekBytes(2 + nameLen + 4, 5);
    if (head.length !== 5 || head[0] !== VMSD_START_MARKER) return false;
    const len = ((head[1] << 24) | (head[2] << 16) | (head[3] << 8) | head[4]) >>> 0;
    return this.r.offset + 2 + nameLen + 4 + 5 + len + 1 <= end;
  }

  private loadField(
    vmsd: VmStateDescription,
    f: VmStateField,
    opaque: StateRecord,
    version: number,
  ): void {
    const r = this.r;
    const fieldStart = r.offset;
    const exists = f.exists ? f.exists(opaque, version) : (f.versionId ?? 0) <= version;
    if (!exists) {
      if (f.flags & VMS.MUST_EXIST) {
        throw new StateValidationError(`Input validation failed: ${vmsd.name}/${f.name}`, {
          offset: fieldStart,
          path: `.${f.name}`,
        });
      }
      return;
    }
    const fl = f.flags;
    let n: number, size: number;
    let base: unknown;
    try {
      n = elementCount(opaque, f, false);
      size = elementSize(opaque, f, false);
      base = getField(opaque, f);
      const isArrayValue = isArrayField(f);
      // QEMU allocates size * n bytes when that is non-zero, where size is the element's C
      // size. Here struct elements and variable-size infos (capability) carry no byte size:
      // count them as at least one byte each, so they are allocated whenever n > 0.
      const unsized = (fl & (VMS.STRUCT | VMS.VSTRUCT)) !== 0 || (isArrayValue && size === 0);
      const perElem = unsized ? 1 : size;
      if (fl & VMS.POINTER && fl & VMS.ALLOC && perElem * n !== 0) {
        // Allocation is bounded by the description's maximum and by bytes that have arrived.
        boundCount(r, n, perElem, `allocation for "${f.name}"`, f.maxCount);
        base = isArrayValue ? allocArray(f, n, size, base) : f.info?.zero(size);
        setField(opaque, f, base);
      }
      if (isArrayValue) {
        const cap = (base as ArrayLike<unknown> | undefined)?.length ?? 0;
        if (n > cap) {
          throw new StateValidationError(
            `Count ${n} of field "${f.name}" exceeds its capacity of ${cap} elements`,
          );
        }
      }
    } catch (e) {
      throw annotatePath(e, `.${f.name}`, fieldStart);
    }
    const isArray = isArrayField(f);
    const arr = base as unknown[];
    const ctx: ElementContext = { field: f, size, version, opaque, nested: this };
    // A marker before every slot: AUTO_ALLOC, ALLOC|ARRAY_OF_POINTER, or x-ptr-markers.
    const markers = hasSlotMarkers(fl, this.opts.ptrMarkers === true);
    for (let i = 0; i < n; i++) {
      const at = r.offset;
      try {
        let elem = isArray ? arr[i] : base;
        if (markers) {
          elem = takeSlotMarker(r, f, arr, i, size);
          if (elem === SKIP_SLOT) continue;
        } else if (fl & VMS.ARRAY_OF_POINTER && (elem === null || elem === undefined) && size) {
          const marker = r.u8();
          if (marker !== NULLPTR_MARKER) {
            throw new StateValidationError(
              `vmstate: get_nullptr expected VMS_NULLPTR_MARKER, got 0x${marker.toString(16)}`,
            );
          }
          continue;
        }
        if (fl & (VMS.STRUCT | VMS.VSTRUCT)) {
          if (elem === null || elem === undefined || typeof elem !== "object") {
            elem = createRecord(f.vmsd!);
            if (isArray) arr[i] = elem;
            else setField(opaque, f, elem);
          }
          const inner = fl & VMS.VSTRUCT ? f.structVersionId! : f.vmsd!.versionId;
          this.load(f.vmsd!, elem as StateRecord, inner);
        } else {
          const v = f.info!.get(r, elem, ctx);
          if (isArray) arr[i] = v;
          // Infos that store nothing (unused_buffer, tmp) hand back the current value: leave the
          // record alone rather than creating an `unused: undefined` property.
          else if (!Object.is(v, elem)) setField(opaque, f, v);
        }
      } catch (e) {
        throw annotatePath(e, isArray ? `.${f.name}[${i}]` : `.${f.name}`, at);
      }
    }
  }

  /**
   * Subsections after the fields. Without markers they are attributed by name, QEMU's way (plain
   * prefix, or `parent/` in strict mode); with markers (`end` >= 0) every subsection before the
   * end marker belongs to this description, whatever its name.
   */
  private loadSubsections(vmsd: VmStateDescription, opaque: StateRecord, end = -1): void {
    const r = this.r;
    const parent = vmsd.name;
    // Most structures have no subsection marker next: decide that before allocating anything.
    if (r.peekU8(0) !== 0x05) return;
    const parentLen = nameByteLength(parent);
    const seen = new Set<string>();
    while (r.peekU8(0) === 0x05) {
      if (end >= 0 && r.offset >= end) return;
      const len = r.peekU8(1);
      if (len === undefined || (end < 0 && len < parentLen + 1)) return;
      const nameBytes = r.peekBytes(2, len);
      if (nameBytes.length !== len) return;
      const name = decodeName(nameBytes);
      if (end < 0 && !subsectionBelongs(vmsd, name, this.match)) return;
      const at = r.offset;
      const sub = vmsd.subsections?.find((s) => s.name === name);
      if (!sub) {
        if (end >= 0 && !this.looksLikeSubsection(len, end)) return;
        if (end >= 0 && this.opts.skipUnknownSubsections) {
          r.skip(2 + len);
          const version = r.be32();
          skipBracketed(r, `${name} v${version}`);
          this.opts.onNote?.(
            `skipped subsection '${name}' v${version} of '${parent}' (${
              r.offset - at
            } bytes at byte ${at}): this side does not know it`,
          );
          continue;
        }
        const hint = this.opts.skipUnknownSubsections && end < 0
          ? " (it cannot be skipped: the source did not bracket it with x-vmsd-markers)"
          : "";
        throw new UnknownEntityError(
          `VM subsection '${name}' in '${parent}' does not exist${hint}`,
          { offset: at, path: `${SUBPATH}${name}` },
        );
      }
      if (this.rejectDuplicates && seen.has(name)) {
        throw new StateValidationError(`VM subsection '${name}' in '${parent}' appears twice`, {
          offset: at,
          path: `${SUBPATH}${name}`,
        });
      }
      seen.add(name);
      r.skip(2 + len);
      // QEMU keeps the subsection version in a uint8: it is truncated mod 256.
      const version = r.be32() & 0xff;
      try {
        this.load(sub, opaque, version);
      } catch (e) {
        if (e instanceof MigrationError && !(e.path ?? "").startsWith(SUBPATH)) {
          e.withPath(`${SUBPATH}${name}${e.path ?? ""}`);
        }
        throw e;
      }
    }
  }
}

function allocArray(
  f: VmStateField,
  n: number,
  size: number,
  old: unknown,
): unknown[] | ArrayLike<unknown> {
  if (f.flags & VMS.ARRAY_OF_POINTER) return Array.from({ length: n }, () => null);
  if (f.flags & (VMS.STRUCT | VMS.VSTRUCT)) {
    return Array.from({ length: n }, () => createRecord(f.vmsd!));
  }
  if (ArrayBuffer.isView(old) && !(old instanceof DataView)) {
    const Ctor =
      (old as unknown as { constructor: new (n: number) => ArrayLike<unknown> }).constructor;
    return new Ctor(n);
  }
  return Array.from({ length: n }, () => f.info!.zero(size));
}

/**
 * Turn an engine path into its display form: `serial.lsr`, `serial/recv_fifo.data[12]`.
 * @param top name of the top-level description
 */
export function displayPath(top: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.startsWith(SUBPATH)) {
    return raw.slice(1).split(SUBPATH).join("/");
  }
  return top + raw.split(SUBPATH).join("/");
}

/** Load one description at `version` into `opaque`, finishing error paths with the top name. */
export function loadState(
  r: StreamReader,
  vmsd: VmStateDescription,
  opaque: StateRecord,
  version: number,
  opts: LoadOptions = {},
): void {
  try {
    new VmStateLoader(r, opts).load(vmsd, opaque, version);
  } catch (e) {
    if (e instanceof MigrationError) e.withPath(displayPath(vmsd.name, e.path));
    throw e;
  }
}
