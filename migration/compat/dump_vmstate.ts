/**
 * snapshell's `-dump-vmstate`: the descriptions of a section registry as QEMU's dump model, so
 * the static compatibility checker (ours or QEMU's script) can compare two builds, or a
 * snapshell build with a QEMU one, without running either.
 * @module
 */
import type { SectionRegistry } from "../sections/registry.ts";
import type { VmStateDescription, VmStateField } from "../vmstate/description.ts";
import { VMS } from "../vmstate/flags.ts";
import type { Dump, DumpDescription, DumpField, DumpSection } from "./dump_model.ts";

/** Choices for a dump. */
export interface DumpOptions {
  /** Machine type name written as `vmschkmachine`. */
  machine: string;
  /** QOM type name per section idstr, where the device has a QEMU counterpart. */
  typeNames?: Readonly<Record<string, string>>;
  /** Write `num` for VMS_ARRAY fields, as QEMU 8.1 and later do (default: 7.2's layout). */
  withNum?: boolean;
}

/** QOM type names of the snapshell `virt` devices that QEMU 7.2's riscv32 `virt` also has. */
export const VIRT_TYPE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  serial: "serial-mm",
  goldfish_rtc: "goldfish_rtc",
  riscv_mtimer: "riscv.aclint.mtimer",
  riscv_sifive_plic: "riscv.sifive.plic",
});

/** QEMU's `field->size`: the element's byte size (0 for a VBUFFER without a multiplier). */
function fieldSize(f: VmStateField): number {
  if (f.flags & VMS.VBUFFER) return f.size ?? 0;
  return f.size ?? f.info?.size ?? 0;
}

function dumpField(f: VmStateField, opts: DumpOptions): DumpField {
  const out: DumpField = {
    field: f.name,
    version_id: f.versionId ?? 0,
    field_exists: f.exists !== undefined,
    size: fieldSize(f),
  };
  if (opts.withNum && f.flags & VMS.ARRAY) out.num = f.num ?? 0;
  if (f.vmsd) out.Description = dumpDescription(f.vmsd, opts);
  return out;
}

/** One description in the dump model (VALIDATE/MUST_EXIST rows left out, as QEMU does). */
export function dumpDescription(vmsd: VmStateDescription, opts: DumpOptions): DumpDescription {
  const d: DumpDescription = {
    name: vmsd.name,
    version_id: vmsd.versionId,
    minimum_version_id: vmsd.minimumVersionId,
    Fields: vmsd.fields.filter((f) => !(f.flags & VMS.MUST_EXIST)).map((f) => dumpField(f, opts)),
  };
  if (vmsd.subsections?.length) {
    d.Subsections = vmsd.subsections.map((s) => dumpDescription(s, opts));
  }
  return d;
}

/** The dump of every description-based section in a registry, in registration order. */
export function dumpRegistry(reg: SectionRegistry, opts: DumpOptions): Dump {
  const sections = new Map<string, DumpSection>();
  for (const e of reg.entries) {
    if (!e.vmsd) continue;
    const name = opts.typeNames?.[e.idstr] ?? e.idstr;
    if (sections.has(name)) continue;
    sections.set(name, {
      Name: name,
      version_id: e.vmsd.versionId,
      minimum_version_id: e.vmsd.minimumVersionId,
      Description: dumpDescription(e.vmsd, opts),
    });
  }
  return { machine: opts.machine, sections };
}
