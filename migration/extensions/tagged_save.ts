/**
 * Writes device state in the self-describing encoding (`x-self-describing`, see
 * tagged_format.ts): the same walk as QEMU's vmstate_save_state (hooks, version gates, `exists`
 * tests, needed subsections), but every description and field is framed with its name and
 * length. A leaf's payload is exactly the bytes QEMU would write for it, so each value keeps
 * its QEMU encoding; only the framing is new.
 * @module
 */
import { MigrationError, SaveError } from "../errors.ts";
import { StreamWriter } from "../stream/writer.ts";
import {
  createRecord,
  elementCount,
  elementSize,
  getField,
  isArrayField,
} from "../vmstate/access.ts";
import type {
  ElementContext,
  NestedWalker,
  StateRecord,
  VmStateDescription,
  VmStateField,
} from "../vmstate/description.ts";
import { NULLPTR_MARKER, VALIDPTR_MARKER, VMS } from "../vmstate/flags.ts";
import { jsonFieldName } from "../vmstate/save.ts";
import {
  fixedElementSize,
  isUntransmitted,
  kindOf,
  TAG_DESCRIPTION,
  TAG_FIELD,
  TAG_SUBSECTION,
} from "./tagged_format.ts";
import { saveBetweenHooks } from "../vmstate/hooks.ts";

/** Options of the tagged writer. */
export interface TaggedSaveOptions {
  /** Told the name of each subsection written (vendor minor versions are derived from it). */
  onSubsection?: (name: string) => void;
}

/** Saves descriptions in the tagged encoding. */
export class TaggedSaver implements NestedWalker {
  constructor(private w: StreamWriter, private readonly opts: TaggedSaveOptions = {}) {}

  /** Save `opaque` as one tagged description record (the JSON writer is not used). */
  save(vmsd: VmStateDescription, opaque: StateRecord, version?: number): void {
    this.description(vmsd, opaque, version ?? vmsd.versionId);
  }

  /** A saver cannot load; present for the nested-walker contract. */
  load(): void {
    throw new SaveError("Internal: load called on a tagged saver");
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  private description(vmsd: VmStateDescription, opaque: StateRecord, version: number): void {
    saveBetweenHooks(vmsd, opaque, () => {
      const outer = this.w;
      try {
        outer.u8(TAG_DESCRIPTION);
        outer.str8(vmsd.name);
        outer.be32(version);
        const body = new StreamWriter(undefined, 256);
        this.w = body;
        for (const f of vmsd.fields) this.field(vmsd, f, opaque, version);
        for (const sub of vmsd.subsections ?? []) {
          if (sub.needed && !sub.needed(opaque)) continue;
          this.opts.onSubsection?.(sub.name);
          body.u8(TAG_SUBSECTION);
          this.description(sub, opaque, sub.versionId);
        }
        outer.be32(body.offset);
        outer.bytes(body.take());
      } finally {
        this.w = outer;
      }
    });
  }

  private field(
    vmsd: VmStateDescription,
    f: VmStateField,
    opaque: StateRecord,
    version: number,
  ): void {
    const exists = f.exists ? f.exists(opaque, version) : (f.versionId ?? 0) <= version;
    if (!exists) {
      if (f.flags & VMS.MUST_EXIST) {
        throw new SaveError(`Output state validation failed: ${vmsd.name}/${f.name}`);
      }
      return;
    }
    if (isUntransmitted(f)) return;
    const path = `${vmsd.name}.${f.name}`;
    let n: number, size: number;
    try {
      n = elementCount(opaque, f, true);
      size = elementSize(opaque, f, true);
    } catch (e) {
      throw (e as MigrationError).withPath(path);
    }
    const isArray = isArrayField(f);
    const base = getField(opaque, f) as ArrayLike<unknown> | undefined;
    if (isArray && n > 0 && (!base || (base.length ?? 0) < n)) {
      throw new SaveError(
        `Field "${f.name}" has ${base?.length ?? 0} elements but its count says ${n}`,
        { path },
      );
    }
    const w = this.w;
    w.u8(TAG_FIELD);
    w.str8(jsonFieldName(vmsd, f));
    w.u8(kindOf(f));
    w.be32(n);
    if (fixedElementSize(f)) {
      w.be32(n * size);
      this.elements(vmsd, f, opaque, version, n, size, base);
      return;
    }
    const payload = new StreamWriter(undefined, 64);
    this.w = payload;
    try {
      this.elements(vmsd, f, opaque, version, n, size, base);
    } finally {
      this.w = w;
    }
    w.be32(payload.offset);
    w.bytes(payload.take());
  }

  private elements(
    vmsd: VmStateDescription,
    f: VmStateField,
    opaque: StateRecord,
    version: number,
    n: number,
    size: number,
    base: ArrayLike<unknown> | undefined,
  ): void {
    const fl = f.flags;
    const isArray = isArrayField(f);
    const ctx: ElementContext = { field: f, size, version, opaque, nested: this };
    for (let i = 0; i < n; i++) {
      const elem = isArray ? base![i] : base;
      if (fl & VMS.ARRAY_OF_POINTER) {
        const present = elem !== null && elem !== undefined;
        this.w.u8(present ? VALIDPTR_MARKER : NULLPTR_MARKER);
        if (!present) continue;
      }
      if (fl & (VMS.STRUCT | VMS.VSTRUCT)) {
        if (elem === null || elem === undefined || typeof elem !== "object") {
          throw new SaveError(`Struct field "${f.name}" has no record`, {
            path: `${vmsd.name}.${f.name}${isArray ? `[${i}]` : ""}`,
          });
        }
        const inner = fl & VMS.VSTRUCT ? f.structVersionId! : f.vmsd!.versionId;
        this.description(f.vmsd!, elem as StateRecord, inner);
      } else {
        f.info!.put(this.w, elem, ctx);
      }
    }
  }
}
