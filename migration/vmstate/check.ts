/**
 * Registration-time checks, QEMU's vmstate_check and more: a description that could not work
 * is rejected when it is built, naming the description and field, never halfway through a load.
 * @module
 */
import { VmStateDefinitionError } from "../errors.ts";
import type { VmStateDescription, VmStateField } from "./description.ts";
import { VMS, VMS_VARRAY_ANY } from "./flags.ts";

const checked = new WeakSet<VmStateDescription>();

/** Options that relax checks for descriptions copied from QEMU as they are. */
export interface CheckOptions {
  /** Accept subsection names that only share the parent's prefix (QEMU's legacy rule). */
  legacySubsectionNames?: boolean;
}

function bitCount(n: number): number {
  let c = 0;
  while (n) {
    c += n & 1;
    n >>>= 1;
  }
  return c;
}

/** Validate a description tree once; throws {@link VmStateDefinitionError}. */
export function checkDescription(
  vmsd: VmStateDescription,
  opts: CheckOptions = {},
  inherited: ReadonlySet<string> = new Set(),
): void {
  if (checked.has(vmsd)) return;
  const fail = (field: string | undefined, reason: string): never => {
    throw new VmStateDefinitionError(vmsd.name, field, reason);
  };
  if (!vmsd.name) fail(undefined, "the description has no name");
  if (new TextEncoder().encode(vmsd.name).length > 255) {
    fail(undefined, "the name is longer than 255 bytes");
  }
  if (!Number.isInteger(vmsd.versionId) || vmsd.versionId < 0) {
    fail(undefined, `version_id ${vmsd.versionId} is not a non-negative integer`);
  }
  if (vmsd.minimumVersionId > vmsd.versionId) {
    fail(
      undefined,
      `minimum_version_id ${vmsd.minimumVersionId} is above version_id ${vmsd.versionId}`,
    );
  }
  const earlier = new Set<string>(inherited);
  // QEMU tables repeat a name for `unused` padding, for every VMSTATE_WITH_TMP ("tmp"), and for
  // alternative encodings of one member chosen by a field_exists test (PCIDevice "config",
  // fw_cfg "cur_offset"); vmdesc then names them `x[k]`. Any other repetition is a mistake.
  const byName = new Map<string, VmStateField[]>();
  for (const f of vmsd.fields) {
    checkField(vmsd, f, earlier, fail);
    const same = byName.get(f.name) ?? [];
    same.push(f);
    byName.set(f.name, same);
    earlier.add(f.key ?? f.name);
  }
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    const info = same[0].info?.name;
    if (info === "unused_buffer" || info === "tmp") continue;
    if (same.some((f) => f.exists)) continue;
    fail(name, "duplicate field name");
  }
  const subNames = new Set<string>();
  for (const sub of vmsd.subsections ?? []) {
    if (!sub.name.startsWith(vmsd.name)) {
      fail(
        undefined,
        `subsection "${sub.name}" does not start with the parent's name "${vmsd.name}"`,
      );
    }
    const legacy = sub.legacyName || opts.legacySubsectionNames;
    if (!legacy && sub.name.charAt(vmsd.name.length) !== "/") {
      fail(
        undefined,
        `subsection "${sub.name}" must be named "${vmsd.name}/<name>" (mark it legacyName to keep an old name)`,
      );
    }
    if (subNames.has(sub.name)) fail(undefined, `duplicate subsection "${sub.name}"`);
    subNames.add(sub.name);
    checkDescription(sub, opts, earlier);
  }
  checked.add(vmsd);
}

function checkField(
  vmsd: VmStateDescription,
  f: VmStateField,
  earlier: ReadonlySet<string>,
  fail: (field: string | undefined, reason: string) => never,
): void {
  const fl = f.flags;
  const name = f.name || "(unnamed)";
  if (!f.name) fail(undefined, "a field has no name");
  const kinds = (fl & VMS.STRUCT ? 1 : 0) + (fl & VMS.VSTRUCT ? 1 : 0) + (f.info ? 1 : 0);
  if (kinds !== 1) fail(name, "a field needs exactly one of STRUCT, VSTRUCT or an info");
  if (fl & (VMS.STRUCT | VMS.VSTRUCT)) {
    if (!f.vmsd) fail(name, "STRUCT/VSTRUCT without a nested description");
    checkDescription(f.vmsd!, {});
  }
  if (fl & VMS.VSTRUCT && f.structVersionId === undefined) {
    fail(name, "VSTRUCT without struct_version_id");
  }
  const varrays = bitCount(fl & VMS_VARRAY_ANY);
  if (varrays > 1) fail(name, "more than one VARRAY count width");
  if (varrays && fl & VMS.ARRAY) fail(name, "ARRAY and VARRAY together");
  if (varrays) {
    if (!f.countKey) fail(name, "VARRAY without a count field");
    if (!earlier.has(f.countKey!) && !f.countIsConfig) {
      fail(
        name,
        `count field "${f.countKey}" is not an earlier field of this description (declare it first, or mark it countIsConfig)`,
      );
    }
  }
  const validate = (fl & VMS.MUST_EXIST) !== 0 && f.num === 0 && !!f.exists;
  if (fl & VMS.ARRAY && !validate && (!Number.isInteger(f.num) || f.num! < 1)) {
    fail(name, `ARRAY needs a positive element count, got ${f.num}`);
  }
  if (fl & VMS.MULTIPLY_ELEMENTS && (!varrays || !f.num)) {
    fail(name, "MULTIPLY_ELEMENTS needs VARRAY and a factor");
  }
  if (fl & VMS.VBUFFER && !f.sizeKey) fail(name, "VBUFFER without a size field");
  if (fl & VMS.VBUFFER && f.sizeKey && !earlier.has(f.sizeKey) && !f.countIsConfig) {
    fail(name, `size field "${f.sizeKey}" is not an earlier field of this description`);
  }
  if (fl & VMS.MULTIPLY && (!(fl & VMS.VBUFFER) || !f.size)) {
    fail(name, "MULTIPLY is only valid with VBUFFER and a multiplier size");
  }
  if (fl & VMS.ALLOC && !(fl & VMS.POINTER)) fail(name, "ALLOC without POINTER");
  if (fl & VMS.ARRAY_OF_POINTER && !(fl & (VMS.ARRAY | VMS_VARRAY_ANY))) {
    fail(name, "ARRAY_OF_POINTER needs ARRAY or VARRAY");
  }
  // ALLOC | ARRAY_OF_POINTER is the Rosas RFC's spelling of AUTO_ALLOC (same bytes; the table
  // is allocated too); both at once would be two answers to one question.
  if (fl & VMS.ALLOC && fl & VMS.ARRAY_OF_POINTER && fl & VMS.ARRAY_OF_POINTER_AUTO_ALLOC) {
    fail(
      name,
      "ALLOC | ARRAY_OF_POINTER and ARRAY_OF_POINTER_AUTO_ALLOC are two spellings of one protocol: use one",
    );
  }
  if (fl & VMS.ARRAY_OF_POINTER_AUTO_ALLOC && !(fl & VMS.ARRAY_OF_POINTER)) {
    fail(name, "ARRAY_OF_POINTER_AUTO_ALLOC needs ARRAY_OF_POINTER");
  }
  if (fl & VMS.MUST_EXIST && !f.exists && (f.versionId ?? 0) > vmsd.versionId) {
    fail(name, "MUST_EXIST field can never exist at this description's version");
  }
  if ((f.versionId ?? 0) > vmsd.versionId && !f.exists) {
    fail(name, `field version ${f.versionId} is above the description's version ${vmsd.versionId}`);
  }
  const info = f.info?.name;
  if ((info === "tmp" || info === "qtailq" || info === "qlist" || info === "gtree") && !f.vmsd) {
    fail(name, `${info} needs a nested description`);
  }
  if ((info === "tmp" || info === "qtailq" || info === "qlist" || info === "gtree") && f.vmsd) {
    // These load their nested description at the field's own version (QEMU passes
    // field->version_id), so that version must be one the nested description accepts.
    const v = f.versionId ?? 0;
    if (v < f.vmsd.minimumVersionId || v > f.vmsd.versionId) {
      fail(
        name,
        `${info} loads "${f.vmsd.name}" at version ${v}, outside its window ${f.vmsd.minimumVersionId}..${f.vmsd.versionId} (give the field a version, or the description minimumVersionId ${v})`,
      );
    }
  }
  if (f.vmsd && info && info !== "struct") checkDescription(f.vmsd, {});
  if (f.keyVmsd) checkDescription(f.keyVmsd, {});
}
