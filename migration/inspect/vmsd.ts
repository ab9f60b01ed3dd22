/**
 * Decoding a VMSD payload by following its vmdesc entry alone, the way analyze-migration.py
 * does: no VMState logic, just each field's `type` and `size`, compressed arrays expanded, then
 * each described subsection in order.
 * @module
 */
import { StreamFormatError } from "../errors.ts";
import { hex, hexBytes } from "../format.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { DecodedField, DecodedStruct, LeafValue } from "./model.ts";
import { SectionType } from "../sections/constants.ts";
import type { FieldDesc, VmsdDesc } from "./vmdesc.ts";

/** Integer types analyze-migration.py reads as signed (note the `*_equal` quirks). */
const SIGNED_INTS = new Set([
  "int8",
  "int16",
  "int32",
  "int32 equal",
  "int32 le",
  "int64",
  "int64 equal",
  "uint8 equal",
  "uint16 equal",
]);
/** Integer types it reads as unsigned. */
const UNSIGNED_INTS = new Set(["uint8", "uint16", "uint32", "uint32 equal", "uint64"]);

/** Called for oddities that do not stop decoding (offset is absolute). */
export type WarnFn = (code: string, offset: number, message: string) => void;

/** Expand `array_len` entries into one entry per element with `index`, as the script does. */
export function expandFields(fields: FieldDesc[]): FieldDesc[] {
  const out: FieldDesc[] = [];
  for (const f of fields) {
    if (f.arrayLen === undefined) {
      out.push(f);
      continue;
    }
    const { arrayLen, ...rest } = f;
    for (let i = 0; i < Math.max(1, arrayLen); i++) out.push({ ...rest, index: i });
  }
  return out;
}

/**
 * Decode one VMSD payload from `r`, whose offset 0 is absolute offset `base`. Throws
 * StreamFormatError (with offset and path) when the bytes do not match the description.
 */
export function decodeVmsd(
  r: StreamReader,
  desc: VmsdDesc,
  base: number,
  path: string,
  warn: WarnFn,
): DecodedStruct {
  const out: DecodedStruct = { kind: "struct", fields: [], subsections: [] };
  for (const f of expandFields(desc.fields)) {
    const at = base + r.offset;
    // (Spelled out only when needed: a pc guest's devices have thousands of leaf fields.)
    const fpath = () => `${path}/${f.name}${f.index === undefined ? "" : `[${f.index}]`}`;
    let value: DecodedField["value"];
    if (f.type === "struct") {
      if (!f.struct) {
        throw new StreamFormatError("struct field without a description in the vmdesc", {
          offset: at,
          path: fpath(),
        });
      }
      value = decodeVmsd(r, f.struct, base, fpath(), warn);
    } else {
      if (f.size === undefined) {
        throw new StreamFormatError("field without a size in the vmdesc", {
          offset: at,
          path: fpath(),
        });
      }
      value = readLeaf(r, f.type, f.size);
    }
    const field: DecodedField = {
      name: f.name,
      type: f.type,
      offset: at,
      size: base + r.offset - at,
      value,
    };
    if (f.index !== undefined) field.index = f.index;
    out.fields.push(field);
  }
  for (const sub of desc.subsections) {
    const at = base + r.offset;
    r.need(1);
    const marker = r.peekU8();
    if (marker !== SectionType.SUBSECTION) {
      throw new StreamFormatError(
        `Subsection ${sub.vmsdName ?? "?"} not found at offset 0x${at.toString(16)}`,
        { offset: at, path },
      );
    }
    r.skip(1);
    const name = r.str8();
    const version = r.be32();
    if (sub.vmsdName !== undefined && name !== sub.vmsdName) {
      warn(
        "subsection-name",
        at,
        `Subsection "${name}" found where the vmdesc describes "${sub.vmsdName}"; decoded with the latter`,
      );
    }
    const value = decodeVmsd(r, sub, base, `${path}/${name}`, warn);
    out.subsections.push({ name, version, offset: at, value });
  }
  return out;
}

function readLeaf(r: StreamReader, type: string, size: number): LeafValue {
  const signed = SIGNED_INTS.has(type);
  if ((signed || UNSIGNED_INTS.has(type)) && size > 0) {
    const b = r.borrow(size);
    let u: bigint;
    if (size <= 6) {
      // Up to 48 bits fit a number exactly: one BigInt instead of one per byte.
      let n = 0;
      for (let i = 0; i < size; i++) n = n * 256 + b[i];
      u = BigInt(n);
    } else {
      u = 0n;
      for (const x of b) u = (u << 8n) | BigInt(x);
    }
    const value = signed ? BigInt.asIntN(size * 8, u) : u;
    return { kind: "int", size, signed, value, unsigned: u };
  }
  if (type === "bool" && size > 0) {
    const b = r.borrow(size);
    return { kind: "bool", value: b[0] !== 0 };
  }
  return { kind: "bytes", bytes: r.bytes(size) };
}

/** The script's rendering of a leaf: `0x%0Nx`, `0x%0Nx (-N)` for negatives, or spaced hex. */
export function formatLeaf(v: LeafValue): string | boolean {
  if (v.kind === "bool") return v.value;
  if (v.kind === "int") {
    const h = hex(v.unsigned, v.size * 2);
    return v.value < 0n ? `${h} (${v.value})` : h;
  }
  return hexBytes(v.bytes);
}
