/**
 * Turning operations into edits of the piece table: each operation is resolved against the
 * input's layout (so `drop:serial` means the serial section of the input wherever earlier
 * operations moved things) and applied in recipe order. Field values are encoded from the
 * field's vmdesc type and size, and refused when they do not fit.
 * @module
 */
import type { ByteAccess } from "../inspect/byte_access.ts";
import type { LayoutChunk, LayoutField, StreamLayout } from "../inspect/layout.ts";
import { CorruptOpError } from "./errors.ts";
import { setXbzrleField } from "./ram_fields.ts";
import { setCommandField } from "./command_fields.ts";
import { type CorruptOp, hexToBytes } from "./ops.ts";
import { type Piece, PieceTable } from "./pieces.ts";
import { resolveChunks, resolveField, resolveHeaderChunk, resolveSubsection } from "./selectors.ts";

/** What operations are resolved against. */
export interface ApplyContext {
  layout: StreamLayout;
  /** The input stream's bytes. */
  input: ByteAccess;
  /** Opens a splice source by name (`-` is never passed: it means the input). */
  openSource?: (name: string) => Promise<ByteAccess>;
}

const bytes = (b: Uint8Array | number[]): Piece => ({
  src: "bytes",
  bytes: b instanceof Uint8Array ? b : Uint8Array.from(b),
});
const input = (start: number, end: number): Piece => ({ src: "input", start, end });

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** Apply `ops` in order to a fresh piece table over the input; errors name the operation. */
export async function applyOps(ctx: ApplyContext, ops: readonly CorruptOp[]): Promise<PieceTable> {
  const table = new PieceTable(ctx.input.size);
  for (let i = 0; i < ops.length; i++) {
    try {
      await applyOp(table, ctx, ops[i]);
    } catch (e) {
      if (e instanceof CorruptOpError) throw e.at(i);
      throw e;
    }
  }
  return table;
}

/** Apply one operation to `table`. */
export async function applyOp(table: PieceTable, ctx: ApplyContext, op: CorruptOp): Promise<void> {
  const { layout } = ctx;
  switch (op.op) {
    case "flip": {
      const [b] = await readAt(ctx.input, op.offset, 1);
      return table.replace(op.offset, op.offset + 1, [bytes([b ^ (1 << op.bit)])]);
    }
    case "set-byte":
      await readAt(ctx.input, op.offset, 1);
      return table.replace(op.offset, op.offset + 1, [bytes([op.value & 0xff])]);
    case "insert":
      return table.replace(op.offset, op.offset, [bytes(hexToBytes(op.hex))]);
    case "delete":
      await readAt(ctx.input, op.offset, op.length);
      return table.replace(op.offset, op.offset + op.length, []);
    case "truncate":
      return table.truncate(op.length);
    case "splice": {
      await readAt(ctx.input, op.offset, op.length);
      let piece: Piece;
      if (op.source === "-") {
        await readAt(ctx.input, op.sourceOffset, op.sourceLength);
        piece = input(op.sourceOffset, op.sourceOffset + op.sourceLength);
      } else {
        if (!ctx.openSource) throw new CorruptOpError("not-found", "no splice source available");
        const src = await ctx.openSource(op.source);
        try {
          piece = bytes((await readAt(src, op.sourceOffset, op.sourceLength)).slice());
        } finally {
          src.close();
        }
      }
      return table.replace(op.offset, op.offset + op.length, [piece]);
    }
    case "drop-section":
      for (const c of resolveChunks(layout, op.section)) {
        table.replace(c.offset, c.offset + c.size, []);
      }
      return;
    case "duplicate-section":
      for (const c of resolveChunks(layout, op.section)) {
        const end = c.offset + c.size;
        table.replace(end, end, [input(c.offset, end)]);
      }
      return;
    case "move-section": {
      const chunks = resolveChunks(layout, op.section);
      const at = targetOffset(layout, op.before);
      if (chunks.some((c) => c.offset <= at && at < c.offset + c.size)) {
        throw new CorruptOpError("range", `cannot move "${op.section}" before itself`);
      }
      for (const c of chunks) table.replace(c.offset, c.offset + c.size, []);
      table.replace(at, at, chunks.map((c) => input(c.offset, c.offset + c.size)));
      return;
    }
    case "drop-subsection": {
      const s = resolveSubsection(layout, op.subsection);
      return table.replace(s.offset, s.offset + s.size, []);
    }
    case "rename-subsection": {
      const s = resolveSubsection(layout, op.subsection);
      const name = new TextEncoder().encode(op.to);
      if (name.length > 255) {
        throw new CorruptOpError("range", "a subsection name has at most 255 bytes");
      }
      const oldLen = s.headerSize - 6;
      return table.replace(s.offset + 1, s.offset + 2 + oldLen, [bytes([name.length, ...name])]);
    }
    case "set-version": {
      const c = resolveHeaderChunk(layout, op.section);
      return table.replace(c.versionOffset!, c.versionOffset! + 4, [bytes(be32(op.version))]);
    }
    case "set-subsection-version": {
      const s = resolveSubsection(layout, op.subsection);
      const at = s.offset + s.headerSize - 4;
      return table.replace(at, at + 4, [bytes(be32(op.version))]);
    }
    case "set-instance": {
      const c = resolveHeaderChunk(layout, op.section);
      return table.replace(c.instanceOffset!, c.instanceOffset! + 4, [bytes(be32(op.instance))]);
    }
    case "break-footer": {
      const c = footerChunk(layout, op.section);
      const at = c.footerOffset!;
      if (op.how === "drop") return table.replace(at, at + 5, []);
      if (op.how === "marker") return table.replace(at, at + 1, [bytes([0x00])]);
      return table.replace(at + 1, at + 5, [bytes(be32((c.sectionId + 1) >>> 0))]);
    }
    case "damage-vmdesc":
      return damageVmdesc(table, layout, op.how);
    case "set-field": {
      const f = resolveField(layout, op.path);
      return table.replace(f.offset, f.offset + f.size, [bytes(encodeFieldValue(f, op.value))]);
    }
    case "set-xbzrle":
      return setXbzrleField(table, layout, op.record, op.field, op.value);
    case "set-command":
      return setCommandField(table, layout, op.index, op.field, op.value);
  }
}

async function readAt(access: ByteAccess, offset: number, length: number): Promise<Uint8Array> {
  const got = await access.read(offset, length);
  if (offset < 0 || got.length < length) {
    throw new CorruptOpError(
      "range",
      `bytes ${offset}..${offset + length} are outside ${access.name} (${access.size} bytes)`,
    );
  }
  return got;
}

function targetOffset(layout: StreamLayout, before: string): number {
  if (before.toLowerCase() === "eof") {
    if (layout.eofOffset === undefined) {
      throw new CorruptOpError("not-found", "the stream has no EOF");
    }
    return layout.eofOffset;
  }
  return resolveChunks(layout, before)[0].offset;
}

function footerChunk(layout: StreamLayout, selector: string): LayoutChunk {
  const c = resolveChunks(layout, selector).find((x) => x.footerOffset !== undefined);
  if (!c) throw new CorruptOpError("not-found", `"${selector}" has no footer to break`);
  return c;
}

function damageVmdesc(table: PieceTable, layout: StreamLayout, how: string): void {
  const v = layout.vmdesc;
  if (!v) throw new CorruptOpError("not-found", "the stream has no vmdesc trailer");
  const end = v.jsonOffset + v.length;
  switch (how) {
    case "drop":
      return table.replace(v.offset, end, []);
    case "marker":
      return table.replace(v.offset, v.offset + 1, [bytes([0x07])]);
    case "length":
      return table.replace(v.offset + 1, v.offset + 5, [bytes(be32(v.declaredLength + 4096))]);
    case "truncate":
      return table.replace(v.jsonOffset + (v.length >>> 1), end, []);
    default: // json: the opening brace becomes garbage
      return table.replace(v.jsonOffset, v.jsonOffset + 1, [bytes([0x3f])]);
  }
}

/** Encode `text` for `field`'s type and size (big-endian integers, booleans, hex bytes). */
export function encodeFieldValue(field: LayoutField, text: string): Uint8Array {
  const size = field.size;
  const t = text.trim().toLowerCase();
  if (field.value.kind === "bool" && (t === "true" || t === "false")) {
    const out = new Uint8Array(size);
    if (size > 0) out[0] = t === "true" ? 1 : 0;
    return out;
  }
  const int = /^[+-]?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/.test(t);
  // Integers and booleans take numbers in any base; byte buffers take hex bytes (0x... or
  // spaced), or a decimal number written big-endian.
  if (int && (field.value.kind !== "bytes" || !/^[+-]?0x/.test(t))) {
    return encodeInteger(field, t);
  }
  const hex = t.replace(/^0x/, "").replace(/[\s_:]/g, "");
  if (!/^([0-9a-f]{2})*$/.test(hex)) {
    throw new CorruptOpError(
      "syntax",
      `value "${text}" for ${field.path} (${field.type}) is neither a number nor hex bytes`,
    );
  }
  if (hex.length / 2 > size) {
    throw new CorruptOpError(
      "range",
      `${hex.length / 2} bytes do not fit ${field.path} (${field.type}, ${size} bytes)`,
    );
  }
  const out = new Uint8Array(size);
  out.set(hexToBytes(hex));
  return out;
}

function encodeInteger(field: LayoutField, t: string): Uint8Array {
  const size = field.size;
  const neg = t.startsWith("-");
  let v = BigInt(t.replace(/^[+-]/, ""));
  if (neg) v = -v;
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (size === 0 || v < min || v > max) {
    throw new CorruptOpError(
      "range",
      `value ${t} does not fit ${field.path} (${field.type}, ${size} byte${
        size === 1 ? "" : "s"
      }: ${min}..${max})`,
    );
  }
  let u = BigInt.asUintN(size * 8, v);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}
