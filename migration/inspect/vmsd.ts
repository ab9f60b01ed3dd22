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

/** Elements an `array_len` field stands for: the script reads at least one. */
function elementCount(arrayLen: number): number {
  return Math.max(1, arrayLen);
}

/** A field's path in messages (`dev/field[3]`); built only when a message needs it. */
function fieldPath(path: string, f: FieldDesc, index: number | undefined): string {
  return `${path}/${f.name}${index === undefined ? "" : `[${index}]`}`;
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
  // Arrays are walked element by element in place (what expandFields describes) rather than
  // expanded into one description object per element first.
  for (const f of desc.fields) {
    const count = f.arrayLen === undefined ? 1 : elementCount(f.arrayLen);
    for (let i = 0; i < count; i++) {
      const index = f.arrayLen === undefined ? f.index : i;
      const at = base + r.offset;
      let value: DecodedField["value"];
      if (f.type === "struct") {
        if (!f.struct) {
          throw new StreamFormatError("struct field without a description in the vmdesc", {
            offset: at,
            path: fieldPath(path, f, index),
          });
        }
        value = decodeVmsd(r, f.struct, base, fieldPath(path, f, index), warn);
      } else {
        if (f.size === undefined) {
          throw new StreamFormatError("field without a size in the vmdesc", {
            offset: at,
            path: fieldPath(path, f, index),
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
      if (index !== undefined) field.index = index;
      out.fields.push(field);
    }
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
    if (size <= 6) {
      // Up to 48 bits fit a number exactly: the BigInts are made only if someone asks.
      let n = 0;
      for (let i = 0; i < size; i++) n = n * 256 + b[i];
      return new IntLeaf(size, signed, n);
    }
    let u = 0n;
    for (const x of b) u = (u << 8n) | BigInt(x);
    return new IntLeaf(size, signed, u);
  }
  if (type === "bool" && size > 0) {
    const b = r.borrow(size);
    return { kind: "bool", value: b[0] !== 0 };
  }
  return { kind: "bytes", bytes: r.bytes(size) };
}

/** An integer leaf as read: its value as bigints on demand, from the number or bigint read. */
class IntLeaf {
  readonly kind = "int" as const;
  constructor(readonly size: number, readonly signed: boolean, readonly raw: number | bigint) {}
  /** The bytes as an unsigned integer. */
  get unsigned(): bigint {
    return BigInt(this.raw);
  }
  /** The integer as the script reads it (two's complement for the signed types). */
  get value(): bigint {
    return this.signed ? BigInt.asIntN(this.size * 8, BigInt(this.raw)) : BigInt(this.raw);
  }
}

/** The script's rendering of a leaf: `0x%0Nx`, `0x%0Nx (-N)` for negatives, or spaced hex. */
export function formatLeaf(v: LeafValue): string | boolean {
  if (v.kind === "bool") return v.value;
  if (v.kind === "int") {
    const raw = v.raw;
    if (typeof raw === "number") {
      const h = hex(raw, v.size * 2);
      const half = 2 ** (v.size * 8 - 1);
      return v.signed && raw >= half ? `${h} (${raw - 2 * half})` : h;
    }
    const h = hex(v.unsigned, v.size * 2);
    return v.value < 0n ? `${h} (${v.value})` : h;
  }
  return hexBytes(v.bytes);
}
