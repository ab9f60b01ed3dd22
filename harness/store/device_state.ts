/**
 * A machine's device state seen through its VMState descriptions: which sections each device
 * has, every field as a path (`serial.lsr`, `cpu.env.gpr[5]`, `snapshell-nvme.sq[1].head`) with
 * its value, and `set` of one field, which goes through the same engine as a load (save the
 * edited record, load it back, run the description's checks, then commit) so an experiment can
 * never leave a device in a state a stream could not produce.
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { MigrationError } from "../../migration/errors.ts";
import { formatValue, isScalarArray } from "../../migration/format.ts";
import { sectionLabel } from "../../migration/sections/label.ts";
import type { SectionEntry } from "../../migration/sections/registry.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type {
  StateRecord,
  VmStateDescription,
  VmStateField,
} from "../../migration/vmstate/description.ts";
import { getField } from "../../migration/vmstate/access.ts";
import { compiledField } from "../../migration/vmstate/compile.ts";
import { loadState } from "../../migration/vmstate/load.ts";
import { saveState } from "../../migration/vmstate/save.ts";

/** Why a device or field lookup or a `set` failed. */
export type DeviceStateErrorReason = "unknown-device" | "unknown-field" | "bad-value" | "rejected";

/** A wrong device name, field path or value; the machine is unchanged. */
export class DeviceStateError extends Error {
  /** Machine-readable reason. */
  readonly reason: DeviceStateErrorReason;
  constructor(reason: DeviceStateErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeviceStateError";
    this.reason = reason;
  }
}

/** A device of the machine and the sections that carry its state. */
export interface DeviceInfo {
  /** Device name (`uart0`, `plic`, `cpu`). */
  name: string;
  /** Section labels (`serial`, `riscv_sifive_plic`). */
  sections: string[];
  /** MMIO window, when the device has one. */
  mmio?: { base: number; size: number };
}

/** One field value reached by a path. */
export interface FieldLeaf {
  /** Path inside the section (`lsr`, `env.gpr`, `sq[1].head`). */
  path: string;
  /** The value: number, bigint, boolean, Uint8Array, array of scalars, null, Map… */
  value: unknown;
  /** The field's vmdesc type (`uint8`, `buffer`), when it has one. */
  type?: string;
  /** Subsection that carries it, when not the main description. */
  subsection?: string;
}

/** Sections are named as everywhere else (`idstr`, `idstr#N`); re-exported for the shell. */
export { sectionLabel };
/** Values read as everywhere else (the one value formatter); re-exported for the shell. */
export { formatValue, isScalarArray };

/** Every description-based section of the machine, in registration order. */
export function deviceSections(m: Machine): SectionEntry[] {
  return m.registry.entries.filter((e) => e.vmsd !== undefined && e.state !== undefined);
}

/** The machine's devices (the hart first) with their sections and MMIO windows. */
export function listDevices(m: Machine): DeviceInfo[] {
  const labels = new Map(deviceSections(m).map((e) => [e.vmsd!.name, sectionLabel(e)]));
  const out: DeviceInfo[] = [{ name: "cpu", sections: ["cpu_common", "cpu"] }];
  for (const [name, dev] of m.devices) {
    const region = m.bus.regions.find((r) => r.name === name);
    out.push({
      name,
      sections: dev.sections().map((s) => labels.get(s.vmsd.name) ?? s.vmsd.name),
      mmio: region ? { base: region.base, size: region.size } : undefined,
    });
  }
  return out;
}

/** The sections a name stands for: a section label, or a device name (all its sections). */
export function resolveSections(m: Machine, name: string): SectionEntry[] {
  const sections = deviceSections(m);
  const direct = sections.find((e) => sectionLabel(e) === name);
  if (direct) return [direct];
  const dev = listDevices(m).find((d) => d.name === name);
  if (dev) return sections.filter((e) => dev.sections.includes(sectionLabel(e)));
  const known = [...new Set([...listDevices(m).map((d) => d.name), ...sections.map(sectionLabel)])];
  throw new DeviceStateError(
    "unknown-device",
    `No device or section named "${name}": try ${known.join(", ")}`,
  );
}

/** Device and section names (completion and help). */
export function deviceNames(m: Machine): string[] {
  return [
    ...new Set([...listDevices(m).map((d) => d.name), ...deviceSections(m).map(sectionLabel)]),
  ];
}

function isRecord(v: unknown): v is StateRecord {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    !(v instanceof Map);
}

function walkFields(
  vmsd: VmStateDescription,
  rec: StateRecord,
  prefix: string,
  out: FieldLeaf[],
  subsection: string | undefined,
  carried: boolean,
): void {
  for (const f of vmsd.fields) {
    if (!f.info && !f.vmsd) continue;
    if (f.info?.name === "unused_buffer") continue;
    const v = getField(rec, f);
    if (v === undefined) continue;
    emit(f, v, prefix + f.name, out, subsection, carried);
  }
  for (const sub of vmsd.subsections ?? []) {
    if (carried && sub.needed && !sub.needed(rec)) continue;
    walkFields(sub, rec, prefix, out, subsection ?? sub.name, carried);
  }
}

function emit(
  f: VmStateField,
  v: unknown,
  path: string,
  out: FieldLeaf[],
  subsection: string | undefined,
  carried: boolean,
): void {
  if (f.vmsd && isRecord(v)) {
    walkFields(f.vmsd, v, `${path}.`, out, subsection, carried);
  } else if (f.vmsd && Array.isArray(v) && v.every((x) => x === null || isRecord(x))) {
    v.forEach((x, i) => {
      if (x === null) out.push({ path: `${path}[${i}]`, value: null, subsection });
      else walkFields(f.vmsd!, x, `${path}[${i}].`, out, subsection, carried);
    });
  } else {
    out.push({ path, value: v, type: f.info?.name, subsection });
  }
}

/**
 * Every field of one section as path and value, main description then subsections; with
 * `carried`, only the subsections a save would write now (their `needed` says yes).
 */
export function sectionFields(entry: SectionEntry, carried = false): FieldLeaf[] {
  const out: FieldLeaf[] = [];
  walkFields(entry.vmsd!, entry.state!(), "", out, undefined, carried);
  return out;
}

/** Field paths of a section for completion (`lsr`, `env.gpr[0]` … for short scalar arrays). */
export function fieldPaths(entry: SectionEntry): string[] {
  const out: string[] = [];
  for (const leaf of sectionFields(entry)) {
    const v = leaf.value;
    if (isScalarArray(v) && !(v instanceof Uint8Array) && v.length <= 64) {
      for (let i = 0; i < v.length; i++) out.push(`${leaf.path}[${i}]`);
    } else out.push(leaf.path);
  }
  return out;
}

/** Where a `set` writes: how to read and write the scalar, and how to check a value. */
interface Target {
  read(): unknown;
  write(v: unknown): void;
  /** The typed array holding the scalar, when it is an element of one. */
  array?: unknown;
  type?: string;
}

function matchField(vmsd: VmStateDescription, path: string): [VmStateField, string] | undefined {
  const all = [vmsd.fields, ...(vmsd.subsections ?? []).map((s) => s.fields)].flat()
    .filter((f) => f.info || f.vmsd)
    .sort((a, b) => b.name.length - a.name.length);
  for (const f of all) {
    if (path === f.name) return [f, ""];
    if (path.startsWith(f.name) && (path[f.name.length] === "." || path[f.name.length] === "[")) {
      return [f, path.slice(f.name.length)];
    }
  }
  return undefined;
}

function resolveTarget(vmsd: VmStateDescription, rec: StateRecord, path: string): Target {
  const m = matchField(vmsd, path);
  if (!m) throw new DeviceStateError("unknown-field", `No field "${path}" in "${vmsd.name}"`);
  const [f, rest0] = m;
  let rest = rest0;
  // The compiled field's own accessors: a key path or a converting accessor alike.
  const cf = compiledField(f);
  let target: Target = { read: () => cf.get(rec), write: (v) => cf.set(rec, v) };
  let value: unknown = cf.get(rec);
  for (let idx = /^\[(\d+)\]/.exec(rest); idx; idx = /^\[(\d+)\]/.exec(rest)) {
    const i = Number(idx[1]);
    const arr = value as Record<number, unknown> & { length: number } | null;
    if (!arr || typeof arr !== "object" || !("length" in arr) || i >= arr.length) {
      throw new DeviceStateError("unknown-field", `Index ${i} is out of range in "${path}"`);
    }
    target = { read: () => arr[i], write: (v) => void (arr[i] = v), array: arr };
    value = arr[i];
    rest = rest.slice(idx[0].length);
  }
  if (rest.startsWith(".") && f.vmsd && isRecord(value)) {
    return resolveTarget(f.vmsd, value, rest.slice(1));
  }
  if (rest !== "") {
    throw new DeviceStateError("unknown-field", `No field "${path}" in "${vmsd.name}"`);
  }
  if (!["number", "bigint", "boolean"].includes(typeof value)) {
    throw new DeviceStateError(
      "unknown-field",
      `Field "${path}" holds ${
        formatValue(value)
      }: set one element or sub-field, e.g. "${path}[0]"`,
    );
  }
  return { ...target, type: f.info?.name };
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  uint8: [0n, 0xffn],
  int8: [-0x80n, 0x7fn],
  uint16: [0n, 0xffffn],
  int16: [-0x8000n, 0x7fffn],
  uint32: [0n, 0xffffffffn],
  int32: [-0x80000000n, 0x7fffffffn],
  uint64: [0n, 0xffffffffffffffffn],
  int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

function typedArrayRange(a: unknown): [bigint, bigint] | undefined {
  if (a instanceof Uint8Array) return INT_RANGES.uint8;
  if (a instanceof Int8Array) return INT_RANGES.int8;
  if (a instanceof Uint16Array) return INT_RANGES.uint16;
  if (a instanceof Int16Array) return INT_RANGES.int16;
  if (a instanceof Uint32Array) return INT_RANGES.uint32;
  if (a instanceof Int32Array) return INT_RANGES.int32;
  return undefined;
}

/** Parse `text` as a value of the same kind as `current`, in range for the field's type. */
export function parseFieldValue(text: string, current: unknown, range?: [bigint, bigint]): unknown {
  const t = text.trim();
  if (typeof current === "boolean") {
    if (/^(true|1|on|yes)$/i.test(t)) return true;
    if (/^(false|0|off|no)$/i.test(t)) return false;
    throw new DeviceStateError("bad-value", `Invalid boolean "${text}": use true or false`);
  }
  let n: bigint;
  try {
    if (!/^-?(0x[0-9a-f_]+|0b[01_]+|0o[0-7_]+|\d[\d_]*)$/i.test(t)) throw new SyntaxError(t);
    const neg = t.startsWith("-");
    n = BigInt(t.replace(/^-/, "").replaceAll("_", ""));
    if (neg) n = -n;
  } catch {
    throw new DeviceStateError("bad-value", `Invalid integer "${text}": use e.g. 42, 0x2a, -1`);
  }
  if (range && (n < range[0] || n > range[1])) {
    throw new DeviceStateError(
      "bad-value",
      `Value ${text} is out of range ${range[0]}..${range[1]} for this field`,
    );
  }
  return typeof current === "bigint" ? n : Number(n);
}

/** Outcome of {@link setField}. */
export interface SetResult {
  /** Section label that was changed. */
  section: string;
  /** Field path inside it. */
  path: string;
  /** Value before. */
  before: unknown;
  /** Value after (as the engine loaded it back). */
  after: unknown;
}

function readPath(vmsd: VmStateDescription, rec: StateRecord, path: string): unknown {
  return resolveTarget(vmsd, rec, path).read();
}

/**
 * Set `DEVICE.FIELD` to `text`: the edited record is saved and loaded back through the
 * description (hooks and checks included) and committed only when that succeeds.
 */
export function setField(m: Machine, target: string, text: string): SetResult {
  const { entry, path } = splitTarget(m, target);
  const vmsd = entry.vmsd!;
  const staged = structuredClone(entry.state!());
  const t = resolveTarget(vmsd, staged, path);
  const before = t.read();
  const range = typedArrayRange(t.array) ??
    (t.type ? INT_RANGES[t.type.replace(/ .*$/, "")] : undefined);
  t.write(parseFieldValue(text, before, range));
  let loaded: StateRecord;
  try {
    const w = new StreamWriter();
    saveState(w, vmsd, staged);
    loaded = structuredClone(entry.state!());
    loadState(StreamReader.fromBytes(w.take()), vmsd, loaded, vmsd.versionId);
  } catch (e) {
    if (!(e instanceof MigrationError)) throw e;
    throw new DeviceStateError(
      "rejected",
      `${sectionLabel(entry)}.${path} = ${text} is rejected by the device's checks: ${e.message}`,
      { cause: e },
    );
  }
  m.registry.commit([{ entry, staged: loaded }]);
  return { section: sectionLabel(entry), path, before, after: readPath(vmsd, loaded, path) };
}

/** Read `DEVICE.FIELD` (a scalar). */
export function getFieldValue(m: Machine, target: string): unknown {
  const { entry, path } = splitTarget(m, target);
  return readPath(entry.vmsd!, entry.state!(), path);
}

/** Split `DEVICE.FIELD` into the section that holds the field and the path inside it. */
export function splitTarget(m: Machine, target: string): { entry: SectionEntry; path: string } {
  const dot = target.indexOf(".");
  if (dot <= 0 || dot === target.length - 1) {
    throw new DeviceStateError(
      "unknown-field",
      `Invalid field "${target}": write DEVICE.FIELD, e.g. serial.scr or cpu.env.pc`,
    );
  }
  const entries = resolveSections(m, target.slice(0, dot));
  const path = target.slice(dot + 1);
  for (const entry of entries) {
    if (matchField(entry.vmsd!, path)) return { entry, path };
  }
  throw new DeviceStateError(
    "unknown-field",
    `No field "${path}" in ${entries.map(sectionLabel).join(", ")}: see "info device ${
      target.slice(0, dot)
    }"`,
  );
}
