/**
 * Shared helpers of the device tests: save/load one section through the engine, a full
 * stream round trip through a SectionRegistry (to exercise the staged, transactional load),
 * and the comparison of a device's vmdesc entry with QEMU 7.2's.
 * @module
 */
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { StateValidationError } from "../../../migration/errors.ts";
import { QemuJsonWriter } from "../../../migration/json/qemu_json_writer.ts";
import { loadStream } from "../../../migration/sections/loadvm.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import { saveStream } from "../../../migration/sections/savevm.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { saveState } from "../../../migration/vmstate/save.ts";
import { registerSections, type SnapshotDevice } from "../../../emu/devices/device.ts";

const FIXTURES = new URL("../../fixtures/qemu72/", import.meta.url);

/** A settable virtual clock. */
export function fakeClock(start = 0n): { now: bigint; clock: () => bigint } {
  const c = { now: start, clock: () => c.now };
  return c;
}

/** Records every level an IRQ line is driven to; `level` is the last one. */
export function irqProbe(): { line: (l: boolean) => void; level: boolean; count: number } {
  const p = {
    level: false,
    count: 0,
    line: (l: boolean) => {
      p.level = l;
      p.count++;
    },
  };
  return p;
}

/** Saves `state` through `vmsd` (one section body, no header). */
export function saveBytes(vmsd: VmStateDescription, state: StateRecord): Uint8Array {
  const w = new StreamWriter();
  saveState(w, vmsd, state);
  return w.take();
}

/** Loads a section body into `into`, requiring every byte to be consumed. */
export function loadBytes(
  vmsd: VmStateDescription,
  into: StateRecord,
  bytes: Uint8Array,
  version = vmsd.versionId,
): void {
  const r = StreamReader.fromBytes(bytes);
  loadState(r, vmsd, into, version);
  deepStrictEqual(r.offset, bytes.length, "every byte of the section is consumed");
}

/** Saves `state`, loads it into a clone of `blank`, and returns the loaded record. */
export function roundTrip<T extends StateRecord>(
  vmsd: VmStateDescription<T>,
  state: T,
  blank: T,
): T {
  const bytes = saveBytes(vmsd as VmStateDescription, state);
  const into = structuredClone(blank);
  loadBytes(vmsd as VmStateDescription, into, bytes);
  return into;
}

/** The vmdesc `devices[]` entry this section produces, exactly as QEMU's JSONWriter would. */
export function vmdescEntry(
  idstr: string,
  vmsd: VmStateDescription,
  state: StateRecord,
  instanceId = 0,
): string {
  const json = new QemuJsonWriter();
  json.startObject();
  json.str("name", idstr);
  json.int("instance_id", instanceId);
  saveState(new StreamWriter(), vmsd, structuredClone(state), json);
  json.endObject();
  return json.toString();
}

interface VmdescField {
  name: string;
  type: string;
  size: number;
  array_len?: number;
  index?: number;
  struct?: { vmsd_name: string; version: number; fields: VmdescField[] };
}

interface VmdescDevice {
  name: string;
  instance_id: number;
  vmsd_name: string;
  version: number;
  fields: VmdescField[];
  subsections?: unknown[];
}

/** QEMU 7.2's vmdesc entry for section `idstr` in the `virt-running` fixture (text and parsed). */
export function qemuVmdescEntry(
  idstr: string,
  instanceId = 0,
): { text: string; dev: VmdescDevice } {
  const raw = Deno.readTextFileSync(new URL("virt-running.vmdesc.raw.json", FIXTURES));
  const all = JSON.parse(raw) as { devices: VmdescDevice[] };
  const dev = all.devices.find((d) => d.name === idstr && d.instance_id === instanceId);
  ok(dev, `fixture has a "${idstr}" section`);
  return { text: raw, dev };
}

function shape(fields: VmdescField[]): unknown[] {
  return fields.map((f) => ({
    name: f.name,
    type: f.type,
    size: f.size,
    array_len: f.array_len,
    index: f.index,
    struct: f.struct
      ? { vmsd_name: f.struct.vmsd_name, version: f.struct.version, fields: shape(f.struct.fields) }
      : undefined,
  }));
}

/**
 * Asserts our vmdesc entry for a section equals QEMU 7.2's: same vmsd name and version, same
 * field names, types, sizes, array lengths and order (nested structs included), same
 * subsections, and byte-identical JSON text inside the fixture's trailer.
 */
export function assertVmdescMatchesQemu(
  idstr: string,
  vmsd: VmStateDescription,
  state: StateRecord,
): void {
  const ours = vmdescEntry(idstr, vmsd, state);
  const parsed = JSON.parse(ours) as VmdescDevice;
  const { text, dev } = qemuVmdescEntry(idstr);
  deepStrictEqual(parsed.vmsd_name, dev.vmsd_name);
  deepStrictEqual(parsed.version, dev.version);
  deepStrictEqual(shape(parsed.fields), shape(dev.fields));
  deepStrictEqual(parsed.subsections, dev.subsections);
  ok(text.includes(ours), `QEMU's trailer contains our entry verbatim: ${ours}`);
}

/** Saves a whole stream holding the sections of `dev`. */
export async function saveDeviceStream(dev: SnapshotDevice): Promise<Uint8Array> {
  const reg = new SectionRegistry();
  registerSections(reg, dev);
  const w = new StreamWriter();
  await saveStream(w, reg, { machine: "virt" });
  return w.take();
}

/** Loads a stream made by {@link saveDeviceStream} into `dev` (transactional: commit on success). */
export async function loadDeviceStream(dev: SnapshotDevice, bytes: Uint8Array): Promise<void> {
  const reg = new SectionRegistry();
  registerSections(reg, dev);
  await loadStream(StreamReader.fromBytes(bytes), reg, { machine: "virt" });
}

/**
 * Saves the sections of `source` (whose state was made bad on purpose) and loads them into
 * `target`: the load must fail with a StateValidationError and leave `target`'s state as it was.
 */
export async function assertRejected(
  source: SnapshotDevice,
  target: SnapshotDevice,
  message: RegExp,
): Promise<void> {
  const bytes = await saveDeviceStream(source);
  const before = target.sections().map((s) => structuredClone(s.state()));
  await rejects(loadDeviceStream(target, bytes), (e: unknown) => {
    ok(e instanceof StateValidationError, `a StateValidationError, got ${e}`);
    ok(message.test((e as Error).message), `message ${(e as Error).message} matches ${message}`);
    return true;
  });
  deepStrictEqual(target.sections().map((s) => s.state()), before, "the live state is untouched");
}

/**
 * Loads the body of FULL section `idstr` (instance 0) of the real QEMU 7.2 stream
 * `virt-running.qemu` into `into` through `vmsd`, checking the section footer follows.
 */
export function loadQemuSection(
  idstr: string,
  vmsd: VmStateDescription,
  into: StateRecord,
): void {
  const bytes = Deno.readFileSync(new URL("virt-running.qemu", FIXTURES));
  const name = new TextEncoder().encode(idstr);
  // Device sections start after RAM (0x035180); a FULL header is 04 id len idstr inst version.
  for (let at = 0x035180; at < bytes.length - name.length - 14; at++) {
    if (bytes[at] !== 0x04 || bytes[at + 5] !== name.length) continue;
    if (!name.every((c, i) => bytes[at + 6 + i] === c)) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const id = view.getUint32(at + 1);
    const version = view.getUint32(at + 10 + name.length);
    const r = StreamReader.fromBytes(bytes.subarray(at + 14 + name.length));
    loadState(r, vmsd, into, version);
    deepStrictEqual([r.u8(), r.be32()], [0x7e, id], "the section footer follows the body");
    return;
  }
  throw new Error(`No section "${idstr}" in virt-running.qemu`);
}
