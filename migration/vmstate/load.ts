/**
 * The load walker of QEMU's encoding: vmstate_load_state and vmstate_subsection_load over the
 * compiled form, made safe for hostile input. Counts and sizes are checked against the capacity
 * of the destination and against what the stream can still deliver before anything is
 * allocated (walk.ts); every failure is a typed MigrationError whose path names the field and
 * element (e.g. `serial/recv_fifo.data[12]`). The walker mutates the record it is given: the
 * section layer hands it a staged copy so a failed load changes nothing. Protocol extensions plug
 * in as options: slot markers, a subsection attribution rule and a {@link LoadLayer}.
 * @module
 */
import {
  MigrationError,
  StateValidationError,
  UnknownEntityError,
  VersionMismatchError,
} from "../errors.ts";
import { decodeName, type StreamReader } from "../stream/reader.ts";
import { createRecord } from "./access.ts";
import { compile, type CompiledField } from "./compile.ts";
import type { StateRecord, VmStateDescription } from "./description.ts";
import { annotatePath, runLoadHook } from "./hooks.ts";
import { loadElements, type RecordWalker, resolveForLoad } from "./walk.ts";

/** Which parent a subsection name belongs to (QEMU: the parent's name is a prefix of it). */
export type SubsectionRule = (parent: VmStateDescription, name: string) => boolean;

/** QEMU's attribution: the innermost description whose name is a plain prefix. */
export const prefixRule: SubsectionRule = (parent, name) => name.startsWith(parent.name);

/**
 * A layer that frames every description (e.g. `x-vmsd-markers`): it knows where a description
 * ends before its fields are read, so it can locate disagreements and skip what it lacks.
 */
export interface LoadLayer {
  /** Read the opening frame of `label` (nested in one ending at `limit`); returns its end. */
  open(r: StreamReader, label: string, limit: number): number;
  /** Read the closing frame; the reader must sit at `end`. */
  close(r: StreamReader, label: string, end: number): void;
  /** Run one field's `read` inside the frame, turning an overrun into a located error. */
  field(r: StreamReader, label: string, name: string, end: number, read: () => void): void;
  /** At a 0x05 inside the frame naming a subsection this side lacks: is it really a header? */
  isSubsection(r: StreamReader, nameLen: number, end: number): boolean;
  /** Skip a subsection this side lacks (header read up to its version); returns its size. */
  skip(r: StreamReader, label: string): void;
}

/** Loader policy knobs (QEMU's behaviour by default). */
export interface LoadOptions {
  /** Subsection attribution by name (default {@link prefixRule}; unused inside a frame). */
  subsectionRule?: SubsectionRule;
  /** Reject a subsection that appears twice in one parent (QEMU loads it twice). */
  rejectDuplicateSubsections?: boolean;
  /** `x-ptr-markers`: the stream has a presence marker before every pointer-array slot. */
  ptrMarkers?: boolean;
  /** Frames every description (`x-vmsd-markers`); see extensions/layers.ts. */
  layer?: LoadLayer;
  /** Skip a subsection this side lacks (possible only inside a layer's frame). */
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
export class VmStateLoader implements RecordWalker {
  private readonly rule: SubsectionRule;
  private readonly rejectDuplicates: boolean;
  private readonly ptrMarkers: boolean;
  /** Inside a layer's frame: end of the description being loaded (nested ones must fit). */
  private limit = Infinity;

  constructor(private readonly r: StreamReader, private readonly opts: LoadOptions = {}) {
    this.rule = opts.subsectionRule ?? prefixRule;
    this.rejectDuplicates = opts.rejectDuplicateSubsections ?? true;
    this.ptrMarkers = opts.ptrMarkers === true;
  }

  /** Save is not available on a loader; present to satisfy the nested-walker contract. */
  save(): void {
    throw new StateValidationError("Internal: save called on a loader");
  }

  /** Save is not available on a loader; present for the record-walker contract. */
  saveRecord(): void {
    this.save();
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  /** Load a nested record (STRUCT element) at `version`. */
  loadRecord(vmsd: VmStateDescription, opaque: StateRecord, version: number): void {
    this.load(vmsd, opaque, version);
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
    const cd = compile(vmsd);
    const layer = this.opts.layer;
    // Inside a frame the payload's end is known before any field is read.
    const label = layer ? `${vmsd.name} v${version}` : "";
    const end = layer ? layer.open(r, label, this.limit) : -1;
    const outer = this.limit;
    if (end >= 0) this.limit = end;
    try {
      runLoadHook(
        vmsd.preLoad && (() => vmsd.preLoad!(opaque)),
        `pre load hook failed for: '${vmsd.name}', version_id: ${version}, minimum version_id: ${vmsd.minimumVersionId}`,
        start,
      );
      for (const cf of cd.fields) {
        if (!layer) this.loadField(vmsd, cf, opaque, version);
        else layer.field(r, label, cf.name, end, () => this.loadField(vmsd, cf, opaque, version));
      }
      this.loadSubsections(vmsd, opaque, end);
    } finally {
      this.limit = outer;
    }
    if (layer) layer.close(r, label, end);
    runLoadHook(
      vmsd.postLoad && (() => vmsd.postLoad!(opaque, version)),
      `post load hook failed for: '${vmsd.name}', version_id: ${version}, minimum version_id: ${vmsd.minimumVersionId}`,
      r.offset,
    );
  }

  private loadField(
    vmsd: VmStateDescription,
    cf: CompiledField,
    opaque: StateRecord,
    version: number,
  ): void {
    const r = this.r;
    const fieldStart = r.offset;
    if (!cf.exists(opaque, version)) {
      if (cf.mustExist) {
        throw new StateValidationError(`Input validation failed: ${vmsd.name}/${cf.name}`, {
          offset: fieldStart,
          path: `.${cf.name}`,
        });
      }
      return;
    }
    let n: number, size: number, base: unknown;
    try {
      n = cf.count(opaque, false);
      size = cf.size(opaque, false);
      base = resolveForLoad(r, cf, opaque, n, size);
    } catch (e) {
      throw annotatePath(e, `.${cf.name}`, fieldStart);
    }
    const markers = cf.variant !== undefined && (cf.variant !== "nullptr" || this.ptrMarkers);
    loadElements(r, this, cf, opaque, version, n, size, base, markers, `.${cf.name}`);
  }

  /**
   * Subsections after the fields. Outside a frame they are attributed by name (QEMU's prefix
   * rule, or the rule given); inside one (`end` >= 0) every subsection before the end belongs to
   * this description, whatever its name.
   */
  private loadSubsections(vmsd: VmStateDescription, opaque: StateRecord, end = -1): void {
    const r = this.r;
    const parent = vmsd.name;
    // Most structures have no subsection marker next: decide that before allocating anything.
    if (r.peekU8(0) !== 0x05) return;
    const parentLen = nameByteLength(parent);
    const seen = new Set<string>();
    const layer = this.opts.layer;
    while (r.peekU8(0) === 0x05) {
      if (end >= 0 && r.offset >= end) return;
      const len = r.peekU8(1);
      if (len === undefined || (end < 0 && len < parentLen + 1)) return;
      const nameBytes = r.peekBytes(2, len);
      if (nameBytes.length !== len) return;
      const name = decodeName(nameBytes);
      if (end < 0 && !this.rule(vmsd, name)) return;
      const at = r.offset;
      const sub = compile(vmsd).subsections.get(name);
      if (!sub) {
        if (layer && end >= 0 && !layer.isSubsection(r, len, end)) return;
        if (layer && end >= 0 && this.opts.skipUnknownSubsections) {
          r.skip(2 + len);
          const version = r.be32();
          layer.skip(r, `${name} v${version}`);
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
        throw subsectionPath(e, name);
      }
    }
  }
}

/** Prefix a subsection's name to an error's path while unwinding (shared by both encodings). */
export function subsectionPath(e: unknown, name: string): unknown {
  if (e instanceof MigrationError && !(e.path ?? "").startsWith(SUBPATH)) {
    e.withPath(`${SUBPATH}${name}${e.path ?? ""}`);
  }
  return e;
}

/** The path of a subsection entry itself (unknown or repeated subsections). */
export function subsectionEntryPath(name: string): string {
  return `${SUBPATH}${name}`;
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
