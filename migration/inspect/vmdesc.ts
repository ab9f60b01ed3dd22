/**
 * Locating and parsing the vmdesc JSON trailer (`0x06 ; be32 len ; json`) that QEMU appends
 * after EOF, which is the only schema a stream carries.
 *
 * Two tail searches are tried: an exact one (a `0x06` whose be32 length reaches exactly the end
 * of the file and is followed by `{`), then analyze-migration.py's own heuristic (the first `{`
 * after the last NUL of the last 10 MiB, with `0x06` five bytes before it), which also finds
 * trailers whose length field is damaged. The decoder confirms the result by walking the stream
 * to EOF, and falls back to the trailer it finds there when neither tail search succeeds.
 * @module
 */
import { MigrationError, StreamFormatError } from "../errors.ts";
import type { InspectWarning } from "./model.ts";
import { JsonObject, type JsonValue, parseJsonPairs, parsePlain } from "./json_pairs.ts";

/** Where a vmdesc trailer sits, and how it was found. */
export interface VmDescLocation {
  /** Offset of the 0x06 marker byte. */
  offset: number;
  /** Offset of the first JSON byte. */
  jsonOffset: number;
  /** Length the be32 field announces. */
  declaredLength: number;
  /** JSON bytes actually taken (less than declared when the file ends first). */
  length: number;
  /** `exact`: length field reaches the end of file; `heuristic`: analyze-migration's search. */
  method: "exact" | "heuristic" | "walk";
}

/** One field entry of a VMSD description, as the vmdesc writes it. */
export interface FieldDesc {
  name: string;
  type: string;
  /** Wire size of one element; undefined when the entry lacks it. */
  size?: number;
  /** Element index for arrays written one entry per element. */
  index?: number;
  /** Element count for a compressed array entry. */
  arrayLen?: number;
  /** Nested description for `struct` fields. */
  struct?: VmsdDesc;
}

/** A VMSD description: the device's members, a nested struct, or a subsection. */
export interface VmsdDesc {
  vmsdName?: string;
  version?: number;
  fields: FieldDesc[];
  subsections: VmsdDesc[];
}

/** A top-level `devices[]` entry, keyed in the stream by idstr and instance. */
export interface DeviceDesc extends VmsdDesc {
  name: string;
  instanceId: number;
}

/** A parsed vmdesc. */
export interface VmDesc {
  /** The JSON with every duplicate key kept. */
  json: JsonValue;
  pageSize?: number;
  devices: DeviceDesc[];
  /** The `configuration` member (QEMU 8.2+), when present. */
  configuration?: VmsdDesc;
  /** Things in the JSON that do not have the expected shape. */
  problems: string[];
}

/** Bytes analyze-migration.py reads from the end of the file to find the trailer. */
export const PY_TAIL_BYTES = 10 * 1024 * 1024;

/**
 * Find the trailer in the last bytes of a stream of known size (`tail` ends at `size`).
 * Returns undefined when neither the exact nor the heuristic search finds one.
 */
export function locateVmdescInTail(tail: Uint8Array, size: number): VmDescLocation | undefined {
  const exact = locateExactInTail(tail, size);
  if (exact) return exact;
  // analyze-migration.py: last NUL of the last 10 MiB, first '{' after it, 0x06 five bytes back.
  const window = tail.subarray(Math.max(0, tail.length - PY_TAIL_BYTES));
  const wStart = size - window.length;
  const nul = window.lastIndexOf(0);
  const brace = window.indexOf(0x7b, Math.max(nul, 0));
  if (brace < 5 || window[brace - 5] !== 0x06) return undefined;
  const declared = new DataView(window.buffer, window.byteOffset + brace - 4, 4).getUint32(0);
  return {
    offset: wStart + brace - 5,
    jsonOffset: wStart + brace,
    declaredLength: declared,
    length: Math.min(declared, window.length - brace),
    method: "heuristic",
  };
}

/**
 * The exact search alone: the last `0x06` whose be32 length reaches exactly the end of the
 * stream and is followed by `{`. Any tail holding the trailer gives the same answer.
 */
export function locateExactInTail(tail: Uint8Array, size: number): VmDescLocation | undefined {
  const tailStart = size - tail.length;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const last = tail.length - 6;
  for (let p = last < 0 ? -1 : tail.lastIndexOf(0x06, last); p >= 0;) {
    if (tail[p + 5] === 0x7b) {
      const len = view.getUint32(p + 1);
      if (len === tail.length - p - 5) {
        return {
          offset: tailStart + p,
          jsonOffset: tailStart + p + 5,
          declaredLength: len,
          length: len,
          method: "exact",
        };
      }
    }
    // (lastIndexOf counts a negative start from the end: stop at 0 instead.)
    p = p === 0 ? -1 : tail.lastIndexOf(0x06, p - 1);
  }
  return undefined;
}

/**
 * Parse trailer JSON bytes (at stream offset `offset`) into a description; throws on bad JSON.
 * The description is read from JSON.parse's objects (reading by key needs no pairs); the pairs
 * tree with every repeated key (`json`, for `-d desc`) is built only when asked for.
 */
export function parseVmdesc(bytes: Uint8Array, offset: number): VmDesc {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new StreamFormatError("vmdesc JSON is not valid UTF-8", { offset });
  }
  let pairs: JsonValue | undefined;
  let json = parsePlain(text);
  // Not JSON for the careful parser either: it says why, and where.
  if (json === undefined) json = pairs = parseJsonPairs(text, offset);
  if (!isObject(json)) {
    throw new StreamFormatError("vmdesc JSON is not an object", { offset });
  }
  const problems: string[] = [];
  const ps = member(json, "page_size");
  const pageSize = typeof ps === "number" && ps > 0 && (ps & (ps - 1)) === 0 ? ps : undefined;
  if (pageSize === undefined) {
    problems.push(`page_size is missing or invalid (${JSON.stringify(ps)})`);
  }
  const devices: DeviceDesc[] = [];
  const devs = member(json, "devices");
  if (!Array.isArray(devs)) problems.push("devices is missing or not a list");
  else {
    devs.forEach((d, i) => {
      if (!isObject(d)) return void problems.push(`devices[${i}] is not an object`);
      const name = member(d, "name");
      const inst = member(d, "instance_id");
      if (typeof name !== "string" || typeof inst !== "number") {
        return void problems.push(`devices[${i}] has no name or instance_id`);
      }
      devices.push({ name, instanceId: inst, ...toVmsd(d, `devices[${i}] (${name})`, problems) });
    });
  }
  const conf = member(json, "configuration");
  const configuration = isObject(conf) ? toVmsd(conf, "configuration", problems) : undefined;
  return {
    get json() {
      return pairs ??= parseJsonPairs(text, offset);
    },
    pageSize,
    devices,
    configuration,
    problems,
  };
}

/** A JSON object as parsed: pairs, or JSON.parse's object. */
type JsonObjectLike = JsonObject | Record<string, unknown>;

/** Whether `v` is a JSON object (not an array or a primitive). */
function isObject(v: unknown): v is JsonObjectLike {
  return v instanceof JsonObject || (v !== null && typeof v === "object" && !Array.isArray(v));
}

/** The value of `key` in a JSON object (the last one when it repeats), or undefined. */
function member(o: JsonObjectLike, key: string): unknown {
  if (o instanceof JsonObject) return o.get(key);
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Map key for a device: its idstr and instance id, like the script's `(name, instance_id)`. */
export function deviceKey(name: string, instanceId: number): string {
  return `${name}\u0000${instanceId}`;
}

/** Where a field entry sits, for problems (spelled out only for one: a pc guest has thousands). */
function fieldAt(where: string, i: number): string {
  return `${where}.fields[${i}]`;
}

function toVmsd(o: JsonObjectLike, where: string, problems: string[]): VmsdDesc {
  const vmsdName = member(o, "vmsd_name");
  const version = member(o, "version");
  const fields: FieldDesc[] = [];
  const fl = member(o, "fields");
  if (!Array.isArray(fl)) problems.push(`${where}: fields is missing or not a list`);
  else {
    for (let i = 0; i < fl.length; i++) {
      const f = fl[i];
      if (!isObject(f)) {
        problems.push(`${fieldAt(where, i)} is not an object`);
        continue;
      }
      const name = member(f, "name");
      const type = member(f, "type");
      const size = member(f, "size");
      const index = member(f, "index");
      const arrayLen = member(f, "array_len");
      const validSize = typeof size === "number" && size >= 0 && Number.isInteger(size);
      if (typeof name !== "string") problems.push(`${fieldAt(where, i)} has no name`);
      if (!validSize) problems.push(`${fieldAt(where, i)} has no valid size`);
      const fd: FieldDesc = {
        name: typeof name === "string" ? name : `#${i}`,
        type: typeof type === "string" ? type : "unknown",
        size: validSize ? size : undefined,
      };
      if (typeof index === "number") fd.index = index;
      if (typeof arrayLen === "number") fd.arrayLen = arrayLen;
      if (fd.type === "struct") {
        const st = member(f, "struct");
        if (isObject(st)) fd.struct = toVmsd(st, `${fieldAt(where, i)}.struct`, problems);
        else problems.push(`${fieldAt(where, i)} is a struct without a description`);
      }
      fields.push(fd);
    }
  }
  const subsections: VmsdDesc[] = [];
  const subs = member(o, "subsections");
  if (subs !== undefined) {
    if (!Array.isArray(subs)) problems.push(`${where}: subsections is not a list`);
    else {
      subs.forEach((s, i) => {
        if (isObject(s)) {
          subsections.push(toVmsd(s, `${where}.subsections[${i}]`, problems));
        } else problems.push(`${where}.subsections[${i}] is not an object`);
      });
    }
  }
  return {
    vmsdName: typeof vmsdName === "string" ? vmsdName : undefined,
    version: typeof version === "number" ? version : undefined,
    fields,
    subsections,
  };
}

/** Parse a located trailer, reporting length and JSON problems as warnings instead of throwing. */
export function parseTrailer(
  bytes: Uint8Array,
  loc: VmDescLocation,
  warnings: InspectWarning[],
): VmDesc | undefined {
  if (loc.declaredLength !== loc.length || loc.method === "heuristic") {
    warnings.push({
      code: "vmdesc-length",
      offset: loc.offset,
      message: `vmdesc length field says ${loc.declaredLength} bytes but ${loc.length} follow` +
        (loc.method === "heuristic" ? " (found by analyze-migration's NUL/brace heuristic)" : ""),
    });
  }
  try {
    const desc = parseVmdesc(bytes, loc.jsonOffset);
    for (const p of desc.problems) {
      warnings.push({ code: "vmdesc-shape", offset: loc.jsonOffset, message: `vmdesc: ${p}` });
    }
    return desc;
  } catch (e) {
    if (!(e instanceof MigrationError)) throw e;
    warnings.push({
      code: "vmdesc-invalid",
      offset: e.offset ?? loc.jsonOffset,
      message: `vmdesc trailer cannot be used: ${e.reason}; decoding without a schema`,
    });
    return undefined;
  }
}
