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
import { createRecord } from "../vmstate/access.ts";
import { compile, type CompiledField } from "../vmstate/compile.ts";
import type { StateRecord, VmStateDescription } from "../vmstate/description.ts";
import { annotatePath, runLoadHook } from "../vmstate/hooks.ts";
import { displayPath, subsectionEntryPath, subsectionPath } from "../vmstate/load.ts";
import { loadElements, type RecordWalker, resolveForLoad } from "../vmstate/walk.ts";
import {
  fixedElementSize,
  kindName,
  kindOf,
  TAG_DESCRIPTION,
  TAG_FIELD,
  TAG_SUBSECTION,
} from "./tagged_format.ts";
import { LayoutMismatchError, MarkerError } from "./vmsd_markers.ts";

/** Loader policy for tagged data. */
export interface TaggedLoadOptions {
  /** Skip a subsection this side does not know (`x-skip-unknown-subsections`). */
  skipUnknownSubsections?: boolean;
  /** Told what was tolerated: skipped fields and subsections, defaulted fields, newer versions. */
  onNote?: (note: string) => void;
}

/** Reads tagged description records into state records. */
export class TaggedLoader implements RecordWalker {
  constructor(private readonly r: StreamReader, private readonly opts: TaggedLoadOptions = {}) {}

  /** A loader cannot save; present for the nested-walker contract. */
  save(): void {
    throw new StateValidationError("Internal: save called on a tagged loader");
  }

  /** A loader cannot save; present for the record-walker contract. */
  saveRecord(): void {
    this.save();
  }

  /** Load a nested record: its version comes from its own header in this encoding. */
  loadRecord(vmsd: VmStateDescription, opaque: StateRecord): void {
    this.load(vmsd, opaque);
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
    const seen = new Set<CompiledField>();
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
    seen: Set<CompiledField>,
    at: number,
  ): void {
    for (const f of compile(vmsd).fields) {
      if (seen.has(f)) continue;
      if (f.kind.kind === "validate" && f.field.exists) {
        if (!f.exists(opaque, version)) {
          throw new StateValidationError(`Input validation failed: ${vmsd.name}/${f.name}`, {
            offset: at,
            path: `.${f.name}`,
          });
        }
        continue;
      }
      if (!f.transmitted) continue;
      if (f.exists(opaque, version)) {
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
    seen: Set<CompiledField>,
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
    const f = compile(vmsd).byJsonName.get(name);
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
      if (kind !== kindOf(f.field)) {
        throw mismatch(
          `is ${kindName(kindOf(f.field))} here but ${kindName(kind)} in the stream`,
        );
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
    f: CompiledField,
    opaque: StateRecord,
    version: number,
    count: number,
    plen: number,
    mismatch: (why: string) => LayoutMismatchError,
  ): void {
    const size = f.size(opaque, false);
    if (f.many) {
      const local = f.count(opaque, false);
      if (local !== count && !(f.allocates && f.variant)) {
        throw mismatch(`has ${local} elements here, the stream has ${count}`);
      }
    } else if (count !== 1) {
      throw mismatch(`is a single value here, the stream has ${count} elements`);
    }
    const base = resolveForLoad(this.r, f, opaque, count, size);
    if (fixedElementSize(f.field) && plen !== count * size) {
      throw mismatch(
        `is ${size} bytes per element here, the stream has ${count ? plen / count : plen}`,
      );
    }
    // Every pointer slot carries its presence marker in this encoding.
    loadElements(this.r, this, f, opaque, version, count, size, base, f.variant !== undefined, "");
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
    const sub = compile(vmsd).subsections.get(name);
    if (!sub) {
      if (!this.opts.skipUnknownSubsections) {
        throw new UnknownEntityError(`VM subsection '${name}' in '${vmsd.name}' does not exist`, {
          offset: at,
          path: subsectionEntryPath(name),
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
        path: subsectionEntryPath(name),
      });
    }
    seen.add(name);
    try {
      this.load(sub, opaque);
    } catch (e) {
      throw subsectionPath(e, name);
    }
  }
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
