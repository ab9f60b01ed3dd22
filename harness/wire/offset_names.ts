/**
 * Saying where a byte offset is, for fault logs and errors: the section (its label, as errors
 * name sections), the chunk selector (`ram@part2`), and, when the stream's complete layout is
 * known, the field path or RAM record, else the part of the chunk (header, payload, footer).
 * @module
 */
import type { LayoutChunk, LayoutRange, StreamLayout } from "../../migration/inspect/layout.ts";

/** Where an offset is. */
export interface OffsetName {
  /** Absolute byte offset. */
  offset: number;
  /** Section label (`idstr`, `idstr#N`), when inside a section chunk. */
  section?: string;
  /** Chunk selector (`ram@part2`, `serial@full`). */
  chunk?: string;
  /** Field path, when the offset is inside a decoded field. */
  field?: string;
  /** What the bytes there are: a field path, a RAM record, `header`, `EOF`, `vmdesc trailer`... */
  what: string;
}

/** Index of the last element whose `offset` is at most `at` (-1 when none). */
export function lastAtOrBefore<T extends { offset: number }>(
  list: readonly T[],
  at: number,
): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].offset <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The chunk of `layout` that contains `offset`, if any. */
export function chunkAt(chunks: readonly LayoutChunk[], offset: number): LayoutChunk | undefined {
  const i = lastAtOrBefore(chunks, offset);
  const c = chunks[i];
  return c && offset < c.offset + c.size ? c : undefined;
}

function rangeWhat(r: LayoutRange): string {
  switch (r.kind) {
    case "field":
      return `field ${r.label}`;
    case "ram":
      return `RAM ${r.label}`;
    case "section-header":
      return `section header (${r.label})`;
    case "subsection-header":
      return r.label;
    case "vmdesc":
      return `vmdesc trailer (${r.label})`;
    case "eof":
      return "EOF marker";
    case "header":
      return `file header (${r.label})`;
    default:
      return r.label;
  }
}

/** Name `offset` with a stream's complete layout (every byte labelled). */
export function nameInLayout(layout: StreamLayout, offset: number): OffsetName {
  if (offset >= layout.size) {
    return { offset, what: `the end of the stream (${layout.size} bytes)` };
  }
  const chunk = chunkAt(layout.chunks, offset);
  const range = layout.ranges[lastAtOrBefore(layout.ranges, offset)];
  const name: OffsetName = { offset, what: range ? rangeWhat(range) : "unlabelled bytes" };
  if (chunk) {
    name.section = chunk.section;
    name.chunk = chunk.selector;
  }
  if (range?.kind === "field") name.field = range.label;
  return name;
}

/** `byte 321991 (0x4e9c7), section "serial" (serial@full), field serial.serial.lsr`. */
export function describeOffset(n: OffsetName): string {
  const parts = [`byte ${n.offset} (0x${n.offset.toString(16)})`];
  if (n.section !== undefined) parts.push(`section "${n.section}" (${n.chunk})`);
  parts.push(n.what);
  return parts.join(", ");
}
