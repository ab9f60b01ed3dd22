/**
 * The data model the schema-less inspector produces: one plain, serialisable description of
 * everything found in a stream, which every output mode (tree, analyze, desc, extract) renders.
 * @module
 */
import type { VmDesc, VmDescLocation } from "./vmdesc.ts";
import type { CommandDetail } from "../sections/postcopy_commands.ts";

/** Something that could not be decoded, or was decoded by guessing, and where. */
export interface InspectWarning {
  /** Short stable identifier, e.g. `no-vmdesc`, `truncated`, `heuristic-footer`. */
  code: string;
  /** Absolute byte offset the warning is about. */
  offset: number;
  /** Human-readable explanation. */
  message: string;
  /** Section (`idstr (section_id)`) when the warning is inside one. */
  section?: string;
}

/** A decoded leaf value from a VMSD field. */
export type LeafValue =
  | {
    kind: "int";
    size: number;
    signed: boolean;
    readonly value: bigint;
    readonly unsigned: bigint;
    /** The wire bytes as read, big-endian unsigned: a number up to 48 bits (no BigInt to make). */
    readonly raw?: number | bigint;
  }
  | { kind: "bool"; value: boolean }
  | { kind: "bytes"; bytes: Uint8Array };

/** One decoded field element, with where it sits in the stream. */
export interface DecodedField {
  name: string;
  type: string;
  /** Absolute stream offset of its first byte. */
  offset: number;
  /** Bytes it occupies on the wire. */
  size: number;
  /** Element index when the vmdesc makes it part of an array. */
  index?: number;
  value: LeafValue | DecodedStruct;
}

/** A subsection found inside a VMSD payload. */
export interface DecodedSubsection {
  name: string;
  version: number;
  offset: number;
  value: DecodedStruct;
}

/** The decoded content of a VMSD (section payload, nested struct or subsection). */
export interface DecodedStruct {
  kind: "struct";
  fields: DecodedField[];
  subsections: DecodedSubsection[];
}

/** One RAMBlock as announced by the block list, with page counts seen for it so far. */
export interface RamBlockInfo {
  name: string;
  /** used_length in bytes. */
  length: bigint;
  /** Offset of the block-list entry in the stream. */
  offset: number;
  /** Pages sent as ZERO records (filled with one byte, normally 0). */
  zeroPages: number;
  /** Pages sent with their contents (PAGE records). */
  dataPages: number;
  /** Pages sent as XBZRLE deltas (the xbzrle capability). */
  xbzrlePages: number;
  /** Pages sent in other encodings (compressed). */
  otherPages: number;
}

/** What a RAM chunk (START/PART/END payload) contained. */
export interface RamChunkInfo {
  totalSize?: bigint;
  zeroPages: number;
  dataPages: number;
  /** XBZRLE delta records. */
  xbzrlePages: number;
  otherPages: number;
  flushes: number;
  eos: boolean;
}

/** The decoder used for a section payload. */
export type PayloadKind = "vmsd" | "ram" | "htab" | "opaque";

/** One section chunk (START, PART, END or FULL) in stream order. */
export interface SectionChunk {
  type: "start" | "part" | "end" | "full";
  /** Offset of the type byte. */
  offset: number;
  /** Bytes from the type byte through the footer (or the end of the payload without one). */
  size: number;
  sectionId: number;
  idstr: string;
  instanceId: number;
  /** Version from the START/FULL header (repeated on PART/END from their START). */
  version: number;
  payloadOffset: number;
  payloadSize: number;
  decoder: PayloadKind;
  vmsd?: DecodedStruct;
  ram?: RamChunkInfo;
  /** The footer, or null when none follows; `heuristic` when found by scanning. */
  footer: { offset: number; sectionId: number; heuristic: boolean } | null;
  /** Set when the payload could not be decoded completely. */
  incomplete?: boolean;
}

/** A QEMU_VM_COMMAND record. */
export interface CommandRecord {
  offset: number;
  cmd: number;
  length: number;
  /** The command's name and decoded payload (postcopy's ADVISE, DISCARD, PACKAGED...). */
  detail?: CommandDetail;
}

/** Per-section state aggregated over its chunks (what analyze-migration prints per section). */
export interface SectionState {
  sectionId: number;
  idstr: string;
  instanceId: number;
  version: number;
  decoder: PayloadKind;
  /** Last decoded VMSD content. */
  vmsd?: DecodedStruct;
  /** RAM blocks in block-list order. */
  blocks?: RamBlockInfo[];
  /** RAM contents per page (`-m`), only when asked for. */
  memory?: Map<string, string>;
  /** RAM block the last page record named (what CONTINUE refers to). */
  currentBlock?: string;
  /** An XBZRLE record was seen (warned about once). */
  sawXbzrle?: boolean;
}

/** Everything the inspector learnt from one stream. */
export interface InspectResult {
  /** Stream size when known. */
  size?: number;
  header?: { magic: number; version: number };
  configuration?: {
    offset: number;
    size: number;
    machine: string;
    pageBits?: number;
    capabilities?: string[];
    uuid?: string;
  };
  /** Section chunks and commands in stream order. */
  items: (SectionChunk | ({ type: "command" } & CommandRecord))[];
  /** Sections by section_id, in order of first appearance. */
  sections: Map<number, SectionState>;
  eof?: { offset: number };
  /** The vmdesc trailer: where it is, and the parsed description when it parsed. */
  vmdesc?: VmDescLocation & { desc?: VmDesc; confirmedByWalk: boolean };
  /** Target page size used for RAM, and where it came from. */
  pageSize: { value: number; source: "vmdesc" | "configuration" | "assumed" };
  /** Offset where decoding stopped, and whether that is the true end of the stream. */
  end: { offset: number; complete: boolean };
  warnings: InspectWarning[];
}
