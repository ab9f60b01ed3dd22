/**
 * Shared helpers of the migration tests: byte literals, hex rendering for readable diffs, and the
 * golden save/load check used for every field kind.
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { QemuJsonWriter } from "../../migration/json/qemu_json_writer.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../migration/vmstate/description.ts";
import { type LoadOptions, loadState } from "../../migration/vmstate/load.ts";
import { saveState } from "../../migration/vmstate/save.ts";

/** Concatenate byte values, byte arrays and ASCII strings into one Uint8Array. */
export function b(...parts: (number | number[] | Uint8Array | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") { for (const c of p) out.push(c.charCodeAt(0)); }
    else out.push(...p);
  }
  return new Uint8Array(out);
}

/** Space-separated hex, so a failing byte comparison shows where the streams differ. */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** A be32 as four bytes. */
export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A counted string (u8 length + ASCII). */
export function str8(s: string): Uint8Array {
  return b(s.length, s);
}

/** Save `state` through `vmsd` into fresh bytes. */
export function save(vmsd: VmStateDescription, state: StateRecord): Uint8Array {
  const w = new StreamWriter();
  saveState(w, vmsd, state);
  return w.take();
}

/** Save with a vmdesc writer; returns the bytes and the JSON members text. */
export function saveWithJson(
  vmsd: VmStateDescription,
  state: StateRecord,
): { bytes: Uint8Array; json: string } {
  const w = new StreamWriter();
  const json = new QemuJsonWriter();
  json.startObject();
  saveState(w, vmsd, state, json);
  json.endObject();
  return { bytes: w.take(), json: json.toString() };
}

/** Load `bytes` into `into` at `version` (default: the description's version); all bytes must be used. */
export function load(
  vmsd: VmStateDescription,
  bytes: Uint8Array,
  into: StateRecord,
  version = vmsd.versionId,
  opts?: LoadOptions,
): StateRecord {
  const r = StreamReader.fromBytes(bytes);
  loadState(r, vmsd, into, version, opts);
  strictEqual(r.offset, bytes.length, "the loader must consume exactly the saved bytes");
  return into;
}

/**
 * The golden check: `state` saves to exactly `wire`, and loading `wire` into `fresh()` gives
 * `expected` (default: `state`).
 */
export function golden(
  vmsd: VmStateDescription,
  state: StateRecord,
  wire: Uint8Array,
  fresh: () => StateRecord,
  expected: StateRecord = state,
): void {
  strictEqual(hex(save(vmsd, state)), hex(wire));
  deepStrictEqual(load(vmsd, wire, fresh()), expected);
}

/** The error a function throws (fails when it throws nothing). */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an exception");
}

/** The error a promise rejects with (fails when it resolves). */
export async function caughtAsync(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}
