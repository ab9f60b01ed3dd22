/**
 * Positions in a migration stream as fault specs name them: a byte offset (`4096`, `0x1000`), the
 * first byte of a section chunk plus an optional distance (`ram`, `ram@part+4096`, `serial+3`),
 * a field (`goldfish_rtc.irq_enabled`, `serial.lsr`), or the EOF marker and the vmdesc trailer
 * (`eof`, `vmdesc+10`). Sections and fields are named as `corrupt` names them (short names,
 * `@kind` selectors, shortened field paths), so the same words work for a file and a live stream.
 * @module
 */
import {
  CorruptOpError,
  findSection,
  resolveChunks,
  resolveField,
} from "../../migration/corrupt/mod.ts";
import type { LayoutChunk, LayoutField, StreamLayout } from "../../migration/inspect/layout.ts";
import { FaultSpecError } from "./errors.ts";

/** A place in a stream, before it is resolved against the stream's layout. */
export type Position =
  | { kind: "offset"; offset: number }
  | { kind: "chunk"; selector: string; plus: number }
  | { kind: "field"; path: string; plus: number }
  | { kind: "eof"; plus: number }
  | { kind: "vmdesc"; plus: number };

/** A position resolved to an absolute offset, with what it names. */
export interface ResolvedPosition {
  /** Absolute byte offset in the stream. */
  offset: number;
  /** The field, for field positions. */
  field?: LayoutField;
  /** The chunk, for chunk positions. */
  chunk?: LayoutChunk;
}

/** Parse a non-negative integer in decimal or hex. */
export function parseOffset(text: string, what = "offset"): number {
  const t = text.trim().replaceAll("_", "");
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    throw new FaultSpecError(`${what} "${text}" is not a number (decimal or 0x hex)`);
  }
  const v = Number(t);
  if (!Number.isSafeInteger(v)) throw new FaultSpecError(`${what} ${text} is too large`);
  return v;
}

/** Parse a position word (see the module documentation). */
export function parsePosition(text: string): Position {
  const t = text.trim();
  if (!t) throw new FaultSpecError("a position is missing");
  if (/^(0x[0-9a-f_]+|[\d_]+)$/i.test(t)) return { kind: "offset", offset: parseOffset(t) };
  const m = /^(.+?)(?:\+(0x[0-9a-f_]+|[\d_]+))?$/i.exec(t)!;
  const name = m[1];
  const plus = m[2] === undefined ? 0 : parseOffset(m[2], "distance");
  const lower = name.toLowerCase();
  if (lower === "eof") return { kind: "eof", plus };
  if (lower === "vmdesc") return { kind: "vmdesc", plus };
  if (/[.[/]/.test(name.replace(/#\d+$/, "").replace(/@[a-z]+\d*$/i, ""))) {
    return { kind: "field", path: name, plus };
  }
  if (!/^[\w\-.#@:/]+$/.test(name)) {
    throw new FaultSpecError(`"${text}" is neither an offset, a section, a field, eof nor vmdesc`);
  }
  return { kind: "chunk", selector: name, plus };
}

/** The position back as a word. */
export function formatPosition(p: Position): string {
  const plus = "plus" in p && p.plus ? `+${p.plus}` : "";
  switch (p.kind) {
    case "offset":
      return String(p.offset);
    case "chunk":
      return p.selector + plus;
    case "field":
      return p.path + plus;
    default:
      return p.kind + plus;
  }
}

/** The section label a field path starts with, when the layout has that section. */
export function fieldSection(layout: StreamLayout, path: string): string | undefined {
  const cuts: number[] = [];
  for (let i = 1; i <= path.length; i++) {
    if (i === path.length || ".[/".includes(path[i])) cuts.push(i);
  }
  for (const cut of cuts.reverse()) {
    const label = quiet(() => findSection(layout, path.slice(0, cut)));
    if (label !== undefined) return label;
  }
  return undefined;
}

function quiet<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CorruptOpError && e.code !== "ambiguous") return undefined;
    if (e instanceof CorruptOpError) throw new FaultSpecError(e.reason);
    throw e;
  }
}

/**
 * Resolve `p` against `layout`. With `final` false (a live stream still arriving) a position
 * the layout does not show yet is undefined; with `final` true it is a FaultSpecError naming
 * what is missing. Ambiguous names are always errors.
 */
export function resolvePosition(
  p: Position,
  layout: StreamLayout,
  final: boolean,
): ResolvedPosition | undefined {
  const missing = (why: string): undefined => {
    if (final) throw new FaultSpecError(why, formatPosition(p));
    return undefined;
  };
  switch (p.kind) {
    case "offset":
      return { offset: p.offset };
    case "eof":
      return layout.eofOffset === undefined
        ? missing("the stream has no EOF marker")
        : { offset: layout.eofOffset + p.plus };
    case "vmdesc":
      return layout.vmdesc === undefined
        ? missing("the stream has no vmdesc trailer")
        : { offset: layout.vmdesc.offset + p.plus };
    case "chunk": {
      let chunks: LayoutChunk[];
      try {
        chunks = resolveChunks(layout, p.selector);
      } catch (e) {
        if (e instanceof CorruptOpError && e.code === "not-found") return missing(e.reason);
        if (e instanceof CorruptOpError) throw new FaultSpecError(e.reason, formatPosition(p));
        throw e;
      }
      return { offset: chunks[0].offset + p.plus, chunk: chunks[0] };
    }
    case "field": {
      let field: LayoutField;
      try {
        field = resolveField(layout, p.path);
      } catch (e) {
        if (e instanceof CorruptOpError && e.code !== "ambiguous") return missing(e.reason);
        if (e instanceof CorruptOpError) throw new FaultSpecError(e.reason, formatPosition(p));
        throw e;
      }
      return { offset: field.offset + p.plus, field };
    }
  }
}
