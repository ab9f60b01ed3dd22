/**
 * Writes device state in the self-describing encoding (`x-self-describing`, see
 * tagged_format.ts): the same compiled walk as QEMU's encoding (hooks, field existence, counts,
 * needed subsections, elements: vmstate/walk.ts), but every description and field is framed with
 * its name and length. A leaf's payload is exactly the bytes QEMU would write for it, so each
 * value keeps its QEMU encoding; only the framing is new.
 * @module
 */
import { SaveError } from "../errors.ts";
import { StreamWriter } from "../stream/writer.ts";
import { createRecord } from "../vmstate/access.ts";
import { compile } from "../vmstate/compile.ts";
import type { StateRecord, VmStateDescription } from "../vmstate/description.ts";
import { saveBetweenHooks } from "../vmstate/hooks.ts";
import { type RecordWalker, resolveForSave, saveElements } from "../vmstate/walk.ts";
import {
  fixedElementSize,
  kindOf,
  TAG_DESCRIPTION,
  TAG_FIELD,
  TAG_SUBSECTION,
} from "./tagged_format.ts";

/** Options of the tagged writer. */
export interface TaggedSaveOptions {
  /** Told the name of each subsection written (vendor minor versions are derived from it). */
  onSubsection?: (name: string) => void;
}

/** Saves descriptions in the tagged encoding. */
export class TaggedSaver implements RecordWalker {
  constructor(private w: StreamWriter, private readonly opts: TaggedSaveOptions = {}) {}

  /** Save `opaque` as one tagged description record (the JSON writer is not used). */
  save(vmsd: VmStateDescription, opaque: StateRecord, version?: number): void {
    this.saveRecord(vmsd, opaque, version ?? vmsd.versionId);
  }

  /** A saver cannot load; present for the nested-walker contract. */
  load(): void {
    throw new SaveError("Internal: load called on a tagged saver");
  }

  /** A saver cannot load; present for the record-walker contract. */
  loadRecord(): void {
    this.load();
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  /** Write one tagged description record of `opaque` at `version`. */
  saveRecord(vmsd: VmStateDescription, opaque: StateRecord, version: number): void {
    const cd = compile(vmsd);
    saveBetweenHooks(vmsd, opaque, () => {
      const outer = this.w;
      try {
        outer.u8(TAG_DESCRIPTION);
        outer.str8(vmsd.name);
        outer.be32(version);
        const body = new StreamWriter(undefined, 256);
        this.w = body;
        for (const cf of cd.fields) {
          const res = resolveForSave(vmsd.name, cf, opaque, version);
          if (!res || !cf.transmitted) continue;
          const w = this.w;
          w.u8(TAG_FIELD);
          w.str8(cf.jsonName);
          w.u8(kindOf(cf.field));
          w.be32(res.n);
          // Every pointer slot carries its presence marker in this encoding.
          const markers = cf.variant !== undefined;
          if (fixedElementSize(cf.field)) {
            w.be32(res.n * res.size);
            saveElements(w, this, vmsd.name, cf, opaque, version, res, markers);
            continue;
          }
          const payload = new StreamWriter(undefined, 64);
          this.w = payload;
          try {
            saveElements(payload, this, vmsd.name, cf, opaque, version, res, markers);
          } finally {
            this.w = w;
          }
          w.be32(payload.offset);
          w.bytes(payload.take());
        }
        for (const sub of vmsd.subsections ?? []) {
          if (sub.needed && !sub.needed(opaque)) continue;
          this.opts.onSubsection?.(sub.name);
          body.u8(TAG_SUBSECTION);
          this.saveRecord(sub, opaque, sub.versionId);
        }
        outer.be32(body.offset);
        outer.bytes(body.take());
      } finally {
        this.w = outer;
      }
    });
  }
}
