/**
 * The wire vocabulary of the self-describing encoding (`x-self-describing`), shared by its
 * writer, its loader and the schema-less decoder:
 *
 * ```
 * description := 0x44 'D' ; str8 name ; be32 version ; be32 body_len ; entry*
 * entry       := 0x46 'F' ; str8 field ; u8 kind ; be32 count ; be32 payload_len ; payload
 *              | 0x53 'S' ; description                      (a subsection that was needed)
 * payload     := count × element   (QEMU's own bytes for a leaf; a description for a struct;
 *                                    0x30 | 0x31 description for a pointer slot)
 * ```
 *
 * Field names are the vmdesc names (`name[k]` when a name repeats), so every entry can be
 * matched by name, skipped by length, and shown without the description that wrote it.
 * @module
 */
import type { VmStateField } from "../vmstate/description.ts";
import { VMS } from "../vmstate/flags.ts";

/** Tag byte before a description. */
export const TAG_DESCRIPTION = 0x44;
/** Tag byte before a field entry. */
export const TAG_FIELD = 0x46;
/** Tag byte before a subsection entry. */
export const TAG_SUBSECTION = 0x53;

/** What a field's elements are, so a tool can show them without the description. */
export const Kind = {
  STRUCT: 0x01,
  POINTER: 0x02,
  UNSIGNED: 0x10,
  SIGNED: 0x11,
  BOOL: 0x12,
  FLOAT: 0x13,
  BYTES: 0x14,
  STRING: 0x15,
  OPAQUE: 0x1f,
} as const;

/** A kind byte's value. */
export type KindValue = typeof Kind[keyof typeof Kind];

const KIND_OF_INFO: Record<string, KindValue> = {
  "bool": Kind.BOOL,
  "uint8": Kind.UNSIGNED,
  "uint16": Kind.UNSIGNED,
  "uint32": Kind.UNSIGNED,
  "uint64": Kind.UNSIGNED,
  "uint8 equal": Kind.UNSIGNED,
  "uint16 equal": Kind.UNSIGNED,
  "uint32 equal": Kind.UNSIGNED,
  "int64 equal": Kind.UNSIGNED,
  "int8": Kind.SIGNED,
  "int16": Kind.SIGNED,
  "int32": Kind.SIGNED,
  "int64": Kind.SIGNED,
  "int32 equal": Kind.SIGNED,
  "int32 le": Kind.SIGNED,
  "timer": Kind.SIGNED,
  "CPU_Double_U": Kind.FLOAT,
  "float64": Kind.FLOAT,
  "buffer": Kind.BYTES,
  "bitmap": Kind.BYTES,
  "capability": Kind.STRING,
};

/** The kind byte a field is written with. */
export function kindOf(f: VmStateField): KindValue {
  if (f.flags & VMS.ARRAY_OF_POINTER) return Kind.POINTER;
  if (f.flags & (VMS.STRUCT | VMS.VSTRUCT)) return Kind.STRUCT;
  return KIND_OF_INFO[f.info?.name ?? ""] ?? Kind.OPAQUE;
}

/** A kind byte's name, for messages and the schema-less decoder. */
export function kindName(k: number): string {
  const e = Object.entries(Kind).find(([, v]) => v === k);
  return e ? e[0].toLowerCase() : `kind 0x${k.toString(16)}`;
}

/** True for fields that carry no information and are not written in tagged form. */
export function isUntransmitted(f: VmStateField): boolean {
  return f.info?.name === "unused_buffer" || ((f.flags & VMS.MUST_EXIST) !== 0 && f.num === 0);
}

/** True for leaves whose bytes per element are fixed by the field (so no scratch is needed). */
export function fixedElementSize(f: VmStateField): boolean {
  if (f.flags & (VMS.STRUCT | VMS.VSTRUCT | VMS.ARRAY_OF_POINTER)) return false;
  const k = kindOf(f);
  return k === Kind.UNSIGNED || k === Kind.SIGNED || k === Kind.BOOL || k === Kind.FLOAT ||
    (k === Kind.BYTES && f.info?.name === "buffer");
}
