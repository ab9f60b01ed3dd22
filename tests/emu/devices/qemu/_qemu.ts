/**
 * Helpers of the QEMU-virt device tests: find one FULL section of a real QEMU 7.2 stream in
 * `tests/fixtures/qemu72/`, load its body through a description, save it back, and compare
 * vmdesc entries with the stream's own trailer.
 * @module
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { StreamReader } from "../../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../../../migration/vmstate/description.ts";
import { loadState } from "../../../../migration/vmstate/load.ts";
import { saveState } from "../../../../migration/vmstate/save.ts";
import { vmdescEntry } from "../_helpers.ts";

const FIXTURES = new URL("../../../fixtures/qemu72/", import.meta.url);

/** The fixture streams made by tools/qemu-fixtures (make.sh, make-icount.sh). */
export type QemuStream = "virt-reset" | "virt-running" | "virt-icount";

/** One FULL section found in a stream. */
export interface QemuSection {
  /** Section id. */
  sectionId: number;
  /** Version in the header. */
  version: number;
  /** The body bytes (between header and footer). */
  body: Uint8Array;
}

/** Reads the fixture stream `name`. */
export function streamBytes(name: QemuStream): Uint8Array {
  return Deno.readFileSync(new URL(`${name}.qemu`, FIXTURES));
}

/**
 * Finds FULL section `idstr`/`instanceId` in `stream`. The body length is known by walking the
 * sections in order from the first device section; here the next footer (0x7e + the same
 * section id) closes it, which the caller's load then checks byte for byte.
 */
export function findSection(
  stream: QemuStream,
  idstr: string,
  instanceId = 0,
  sizeOf?: (body: Uint8Array) => number,
): QemuSection {
  const bytes = streamBytes(stream);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const name = new TextEncoder().encode(idstr);
  const eof = bytes.lastIndexOf(0x06); // before the vmdesc trailer
  for (let at = 0x30000; at < eof; at++) {
    if (bytes[at] !== 0x04 || bytes[at + 5] !== name.length) continue;
    if (!name.every((c, i) => bytes[at + 6 + i] === c)) continue;
    if (view.getUint32(at + 6 + name.length) !== instanceId) continue;
    const sectionId = view.getUint32(at + 1);
    const version = view.getUint32(at + 10 + name.length);
    const start = at + 14 + name.length;
    const rest = bytes.subarray(start);
    const size = sizeOf ? sizeOf(rest) : footerAt(rest, sectionId);
    return { sectionId, version, body: rest.subarray(0, size) };
  }
  throw new Error(`No section "${idstr}" instance ${instanceId} in ${stream}.qemu`);
}

function footerAt(rest: Uint8Array, id: number): number {
  for (let i = 0; i < rest.length - 5; i++) {
    if (rest[i] !== 0x7e) continue;
    const v = (rest[i + 1] << 24 | rest[i + 2] << 16 | rest[i + 3] << 8 | rest[i + 4]) >>> 0;
    if (v === id) return i;
  }
  throw new Error(`No footer for section ${id}`);
}

/**
 * Loads section `idstr` of `stream` into `into` through `vmsd` (every body byte consumed),
 * saves the loaded record back, and asserts the bytes are the same. Returns the record.
 */
export function loadAndResave<T extends StateRecord>(
  stream: QemuStream,
  idstr: string,
  vmsd: VmStateDescription<T>,
  into: T,
  instanceId = 0,
): T {
  const sec = findSection(stream, idstr, instanceId);
  const r = StreamReader.fromBytes(sec.body);
  loadState(r, vmsd as VmStateDescription, into, sec.version);
  deepStrictEqual(r.offset, sec.body.length, "every byte of the section is consumed");
  const w = new StreamWriter();
  saveState(w, vmsd as VmStateDescription, structuredClone(into));
  deepStrictEqual(w.take(), sec.body, `${idstr} saves back byte for byte`);
  return into;
}

interface VmdescDevice {
  name: string;
  instance_id: number;
}

/** The raw vmdesc trailer of `stream` and its parsed entry for `idstr`/`instanceId`. */
export function qemuEntry(
  stream: QemuStream,
  idstr: string,
  instanceId = 0,
): { text: string; dev: Record<string, unknown> } {
  const text = Deno.readTextFileSync(new URL(`${stream}.vmdesc.raw.json`, FIXTURES));
  const all = JSON.parse(text) as { devices: VmdescDevice[] };
  const dev = all.devices.find((d) => d.name === idstr && d.instance_id === instanceId);
  ok(dev, `${stream} has a "${idstr}" section`);
  return { text, dev: dev as unknown as Record<string, unknown> };
}

/**
 * Asserts the vmdesc entry our description writes for `state` equals QEMU 7.2's entry in
 * `stream`, parsed and as text inside the trailer (so field order and spelling match).
 */
export function assertEntryMatches(
  stream: QemuStream,
  idstr: string,
  vmsd: VmStateDescription,
  state: StateRecord,
  instanceId = 0,
): void {
  const ours = vmdescEntry(idstr, vmsd, state, instanceId);
  const { text, dev } = qemuEntry(stream, idstr, instanceId);
  deepStrictEqual(JSON.parse(ours), dev);
  ok(text.includes(ours), `QEMU's trailer contains our entry verbatim: ${ours}`);
}

/** One 32-bit physical read QEMU answered (tools/qemu-fixtures/make-mmio-probe.sh), in order. */
export interface ProbedRead {
  /** Guest physical address. */
  addr: number;
  /** The value QEMU returned. */
  value: number;
}

/** The reads of `virt-mmio-probe.txt`, in the order QEMU performed them. */
export function probedReads(): ProbedRead[] {
  const text = Deno.readTextFileSync(new URL("virt-mmio-probe.txt", FIXTURES));
  const reads: ProbedRead[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{16}): ((?:0x[0-9a-f]{8} ?)+)$/.exec(line.trim());
    if (!m) continue;
    const base = parseInt(m[1], 16);
    m[2].trim().split(" ").forEach((v, i) =>
      reads.push({ addr: base + 4 * i, value: parseInt(v, 16) })
    );
  }
  return reads;
}
