/**
 * The save walker of QEMU's encoding: vmstate_save_state_v over the compiled form, writing a
 * description's fields and needed subsections and, when asked, the matching vmdesc JSON with
 * QEMU's exact layout (names made unique with `[k]`, compressed arrays, `index` per element of
 * other arrays, sizes in bytes actually written). Protocol extensions plug in as options: slot
 * markers (a pointer-array switch) and a {@link SaveLayer} that frames each description.
 * @module
 */
import { SaveError } from "../errors.ts";
import type { QemuJsonWriter } from "../json/qemu_json_writer.ts";
import { StreamWriter } from "../stream/writer.ts";
import { createRecord } from "./access.ts";
import { compile, compiledField } from "./compile.ts";
import type { StateRecord, VmStateDescription, VmStateField } from "./description.ts";
import { saveBetweenHooks } from "./hooks.ts";
import { type RecordWalker, resolveForSave, saveElements } from "./walk.ts";

/** Whether vmdesc may describe only element 0 of this array (QEMU's vmsd_can_compress). */
export function canCompress(f: VmStateField): boolean {
  return compiledField(f).compress;
}

/** The vmdesc name of a field: its name, or `name[k]` when the name repeats in the table. */
export function jsonFieldName(vmsd: VmStateDescription, f: VmStateField): string {
  return compile(vmsd).fields[vmsd.fields.indexOf(f)]?.jsonName ?? f.name;
}

/** The vmdesc `type` of a field. */
export function jsonTypeName(f: VmStateField): string {
  return compiledField(f).typeName;
}

/** A layer that frames every description's payload (e.g. `x-vmsd-markers`). */
export interface SaveLayer {
  /** Write `payload` (one description's fields and subsections) with its framing into `out`. */
  frame(out: StreamWriter, payload: Uint8Array): void;
}

/** Protocol extensions the save walker applies (all off: QEMU 7.2's bytes). */
export interface SaveWalkOptions {
  /** `x-ptr-markers`: a presence marker before every pointer-array slot. */
  ptrMarkers?: boolean;
  /** Frames each description's payload (`x-vmsd-markers`); see extensions/layers.ts. */
  layer?: SaveLayer;
  /** Told the name of each subsection written (vendor minor versions are derived from it). */
  onSubsection?: (name: string) => void;
}

/** Saves descriptions into a stream writer, optionally producing vmdesc JSON alongside. */
export class VmStateSaver implements RecordWalker {
  private readonly ptrMarkers: boolean;

  constructor(private w: StreamWriter, private readonly opts: SaveWalkOptions = {}) {
    this.ptrMarkers = opts.ptrMarkers === true;
  }

  /** Save `opaque` at the description's own version (QEMU's vmstate_save_state). */
  save(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version?: number,
    json?: QemuJsonWriter,
  ): void {
    this.saveRecord(vmsd, opaque, version ?? vmsd.versionId, json);
  }

  /** Nested walker entry for recursive infos: the JSON goes into the currently open object. */
  load(): void {
    throw new SaveError("Internal: load called on a saver");
  }

  /** A saver cannot load; present for the record-walker contract. */
  loadRecord(): void {
    throw new SaveError("Internal: load called on a saver");
  }

  /** A zeroed record for `vmsd`. */
  create(vmsd: VmStateDescription): StateRecord {
    return createRecord(vmsd);
  }

  /** Save one record at `version`, its vmdesc members going into `json`'s open object. */
  saveRecord(
    vmsd: VmStateDescription,
    opaque: StateRecord,
    version: number,
    json?: QemuJsonWriter,
  ): void {
    const cd = compile(vmsd);
    saveBetweenHooks(vmsd, opaque, () => {
      // A framing layer needs the payload's length first: write it to a scratch writer.
      const outer = this.w;
      const layer = this.opts.layer;
      if (layer) this.w = new StreamWriter(undefined, 256);
      try {
        if (json) {
          json.str("vmsd_name", vmsd.name);
          json.int("version", version);
          json.startArray("fields");
        }
        for (const cf of cd.fields) {
          const res = resolveForSave(vmsd.name, cf, opaque, version);
          if (!res) continue;
          const markers = cf.variant !== undefined &&
            (cf.variant !== "nullptr" || this.ptrMarkers);
          saveElements(this.w, this, vmsd.name, cf, opaque, version, res, markers, json);
        }
        if (json) json.endArray();
        this.saveSubsections(vmsd, opaque, json);
        if (layer) layer.frame(outer, this.w.take());
      } finally {
        this.w = outer;
      }
    });
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
      this.saveRecord(sub, opaque, sub.versionId, json);
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
