/**
 * Loads the self-describing encoding (`x-self-describing`). Entries are matched by name, so the
 * layout never depends on this side's `needed()` or `exists()` answers: a field this side does
 * not know is skipped by its length, a field the stream lacks keeps this side's value, a newer
 * description version loads as far as this side understands it, and a field whose element
 * count, size or kind differs is a typed error naming it instead of a silent misread.
 * @module
 */
import {
  MigrationError,
  StateValidationError,
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
} from "../vmstate/access.ts";
import type {
  ElementContext,
  NestedWalker,
  StateRecord,
  VmStateDescription,
  VmStateField,
} from "../vmstate/description.ts";
import { VMS } from "../vmstate/flags.ts";
import { displayPath } from "../vmstate/load.ts";
import { jsonFieldName } from "../vmstate/save.ts";
import { SKIP_SLOT, takeSlotMarker } from "./pointer_arrays.ts";
import {
  fixedElementSize,
  isUntransmitted,
  kindName,
  kindOf,
  TAG_DESCRIPTION,
  TAG_FIELD,
  TAG_SUBSECTION,
} from "./tagged_format.ts";
import { LayoutMismatchError, MarkerError } from "./vmsd_markers.ts";
import { annotatePath, runLoadHook } from "../vmstate/hooks.ts";
import { boundCount } from "../vmstate/bound_count.ts";

/** Loader policy for tagged data. */
export interface TaggedLoadOptions {
  /** Skip a subsection this side does not know (`x-skip-unknown-subsections`). */
  skipUnknownSubsections?: boolean;
  /** Told what was tolerated: skipped fields and subsections, defaulted fields, newer versions. */
  onNote?: (note: string) => void;
}

const SUBPATH = "\u0000";
const byNameCache = new WeakMap<VmStateDescription, Map<string, VmStateField>>();

function fieldsByName(vmsd: VmStateDescription): Map<string, VmStateField> {
  let m = byNameCache.get(vmsd);
  if (!m) {
    m = new Map(vmsd.fields.map((f) => [jsonFieldName(vmsd, f), f]));
    byNameCache.set(vmsd, m);
  }
  return m;
}

/** Reads tagged description records into state records. */
export class TaggedLoader implements NestedWalker {
  constructor(private readonly r: StreamReader, private readonly opts: TaggedLoadOptions = {}) {}

  /** A loader cannot save; present for the nested-walker contract. */
  save(): void {
    throw new StateValidationError("Internal: save called on a tagged loader");
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  /** Load one description record into `opaque`; its version comes from the stream. */
  load(vmsd: VmStateDescription, opaque: StateRecord): void {
    const r = this.r;
    const at = r.offset;
    const tag = r.u8();
    if (tag !== TAG_DESCRIPTION) {
      throw new MarkerError(
        `Expected the tagged description of "${vmsd.name}", found byte 0x${tag.toString(16)}`,
        { offset: at },
      );
    }
    const name = r.str8();
    const version = r.be32();
    const len = r.be32();
    r.checkAvailable(len, `description "${name}"`);
    const end = r.offset + len;
    if (name !== vmsd.name) {
      throw new LayoutMismatchError(
        `The stream has description "${name}" where this side has "${vmsd.name}"`,
        { offset: at },
      );
    }
    if (version < vmsd.minimumVersionId) {
      throw new VersionMismatchError(vmsd.name, version, vmsd.minimumVersionId, vmsd.versionId, {
        offset: at,
      });
    }
    const label = `${vmsd.name} v${version}`;
    if (version > vmsd.versionId) {
      this.opts.onNote?.(`${label} loaded as v${vmsd.versionId}, as far as this side knows it`);
    }
    const local = Math.min(version, vmsd.versionId);
    runLoadHook(
      vmsd.preLoad && (() => vmsd.preLoad!(opaque)),
      `pre load hook failed for: '${vmsd.name}', version_id: ${version}`,
      at,
    );
    const seen = new Set<VmStateField>();
    const subs = new Set<string>();
    while (r.offset < end) {
      const entryAt = r.offset;
      const t = r.u8();
      if (t === TAG_FIELD) this.field(vmsd, opaque, local, label, seen, end, entryAt);
      else if (t === TAG_SUBSECTION) this.subsection(vmsd, opaque, subs, entryAt);
      else {
        throw new MarkerError(`${label}: unknown entry tag 0x${t.toString(16)}`, {
          offset: entryAt,
        });
      }
    }
    if (r.offset !== end) {
      throw new MarkerError(
        `${label}: an entry runs ${r.offset - end} bytes past the description`,
        {
          offset: end,
        },
      );
    }
    this.afterFields(vmsd, opaque, local, label, seen, end);
    runLoadHook(
      vmsd.postLoad && (() => vmsd.postLoad!(opaque, local)),
      `post load hook failed for: '${vmsd.name}', version_id: ${version}`,
      end,
    );
  }

  private afterFields(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version: number,
    label: string,
    seen: Set<VmStateField>,
    at: number,
  ): void {
    for (const f of vmsd.fields) {
      if (seen.has(f)) continue;
      if (f.flags & VMS.MUST_EXIST && f.num === 0 && f.exists) {
        if (!f.exists(opaque, version)) {
          throw new StateValidationError(`Input validation failed: ${vmsd.name}/${f.name}`, {
            offset: at,
            path: `.${f.name}`,
          });
        }
        continue;
      }
      if (isUntransmitted(f)) continue;
      const expected = f.exists ? f.exists(opaque, version) : (f.versionId ?? 0) <= version;
      if (expected) {
        this.opts.onNote?.(
          `${label}: field "${f.name}" is not in the stream: kept this side's value`,
        );
      }
    }
  }

  private field(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version: number,
    label: string,
    seen: Set<VmStateField>,
    end: number,
    at: number,
  ): void {
    const r = this.r;
    const name = r.str8();
    const kind = r.u8();
    const count = r.be32();
    const plen = r.be32();
    const payloadEnd = r.offset + plen;
    if (payloadEnd > end) {
      throw new MarkerError(`${label}: field "${name}" runs past the end of its description`, {
        offset: at,
      });
    }
    const f = fieldsByName(vmsd).get(name);
    if (!f) {
      r.skip(plen);
      this.opts.onNote?.(`${label}: skipped field "${name}" (${plen} bytes): this side lacks it`);
      return;
    }
    if (seen.has(f)) {
      throw new StateValidationError(`${label}: field "${name}" appears twice`, { offset: at });
    }
    seen.add(f);
    const mismatch = (why: string) =>
      new LayoutMismatchError(`${label}: field "${name}" ${why}`, { offset: at });
    try {
      if (kind !== kindOf(f)) {
        throw mismatch(`is ${kindName(kindOf(f))} here but ${kindName(kind)} in the stream`);
      }
      this.elements(f, opaque, version, count, plen, mismatch);
      if (r.offset !== payloadEnd) {
        throw mismatch(
          `decoded to ${r.offset - (payloadEnd - plen)} bytes but the stream has ${plen}`,
        );
      }
    } catch (e) {
      throw annotatePath(e, `.${name}`, at);
    }
  }

  private elements(
    f: VmStateField,
    opaque: StateRecord,
    version: number,
    count: number,
    plen: number,
    mismatch: (why: string) => LayoutMismatchError,
  ): void {
    const r = this.r;
    const fl = f.flags;
    const isArray = isArrayField(f);
    const size = elementSize(opaque, f, false);
    let base = getField(opaque, f);
    const allocates = (fl & VMS.POINTER) !== 0 && (fl & VMS.ALLOC) !== 0;
    if (isArray) {
      const local = elementCount(opaque, f, false);
      if (local !== count && !(allocates && fl & VMS.ARRAY_OF_POINTER)) {
        throw mismatch(`has ${local} elements here, the stream has ${count}`);
      }
      if (allocates) {
        boundCount(r, count, 1, `allocation for "${f.name}"`, f.maxCount);
        base = allocTable(f, count, size, base);
        setField(opaque, f, base);
      }
      const cap = (base as ArrayLike<unknown> | undefined)?.length ?? 0;
      if (count > cap) {
        throw new StateValidationError(
          `Count ${count} of field "${f.name}" exceeds its capacity of ${cap} elements`,
        );
      }
    } else if (count !== 1) {
      throw mismatch(`is a single value here, the stream has ${count} elements`);
    } else if (allocates && size) {
      base = f.info?.zero(size);
      setField(opaque, f, base);
    }
    if (fixedElementSize(f) && plen !== count * size) {
      throw mismatch(
        `is ${size} bytes per element here, the stream has ${count ? plen / count : plen}`,
      );
    }
    const arr = base as unknown[];
    const ctx: ElementContext = { field: f, size, version, opaque, nested: this };
    for (let i = 0; i < count; i++) {
      const at = r.offset;
      try {
        let elem = isArray ? arr[i] : base;
        if (fl & VMS.ARRAY_OF_POINTER) {
          elem = takeSlotMarker(r, f, arr, i, size);
          if (elem === SKIP_SLOT) continue;
        }
        if (fl & (VMS.STRUCT | VMS.VSTRUCT)) {
          if (elem === null || elem === undefined || typeof elem !== "object") {
            elem = createRecord(f.vmsd!);
            if (isArray) arr[i] = elem;
            else setField(opaque, f, elem);
          }
          this.load(f.vmsd!, elem as StateRecord);
        } else {
          const v = f.info!.get(r, elem, ctx);
          if (isArray) arr[i] = v;
          else if (!Object.is(v, elem)) setField(opaque, f, v);
        }
      } catch (e) {
        throw annotatePath(e, isArray ? `[${i}]` : "", at);
      }
    }
  }

  private subsection(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    seen: Set<string>,
    at: number,
  ): void {
    const r = this.r;
    const nameLen = r.peekU8(1) ?? 0;
    const name = decodeName(r.peekBytes(2, nameLen));
    const sub = vmsd.subsections?.find((s) => s.name === name);
    if (!sub) {
      if (!this.opts.skipUnknownSubsections) {
        throw new UnknownEntityError(`VM subsection '${name}' in '${vmsd.name}' does not exist`, {
          offset: at,
          path: `${SUBPATH}${name}`,
        });
      }
      r.skip(2 + nameLen);
      const version = r.be32();
      const len = r.be32();
      r.skip(len);
      this.opts.onNote?.(
        `skipped subsection '${name}' v${version} of '${vmsd.name}' (${len} bytes at byte ${at}): this side does not know it`,
      );
      return;
    }
    if (seen.has(name)) {
      throw new StateValidationError(`VM subsection '${name}' in '${vmsd.name}' appears twice`, {
        offset: at,
        path: `${SUBPATH}${name}`,
      });
    }
    seen.add(name);
    try {
      this.load(sub, opaque);
    } catch (e) {
      if (e instanceof MigrationError && !(e.path ?? "").startsWith(SUBPATH)) {
        e.withPath(`${SUBPATH}${name}${e.path ?? ""}`);
      }
      throw e;
    }
  }
}

function allocTable(f: VmStateField, n: number, size: number, old: unknown): unknown {
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

/** Load one tagged description record into `opaque`, finishing error paths with the top name. */
export function loadTaggedState(
  r: StreamReader,
  vmsd: VmStateDescription,
  opaque: StateRecord,
  opts: TaggedLoadOptions = {},
): void {
  try {
    new TaggedLoader(r, opts).load(vmsd, opaque);
  } catch (e) {
    if (e instanceof MigrationError) e.withPath(displayPath(vmsd.name, e.path));
    throw e;
  }
}
