/**
 * Field-level corruption of XBZRLE records (`xbzrle:N:FIELD=VALUE`): the N-th XBZRLE record of
 * the stream (0-based, stream order) gets its page `offset` (the be64 header's address bits, its
 * flags kept), its `encoding` byte, its be16 `length` or one byte of its delta `data[I]`
 * rewritten in place, so the loader's checks (wrong encoding, a length past a page, a delta
 * that overruns the page or itself, a page the stream never sent) can be hit exactly.
 * @module
 */
import type { StreamLayout } from "../inspect/layout.ts";
import type { RamRecord } from "../inspect/ram_records.ts";
import { RamFlag } from "../sections/constants.ts";
import { CorruptOpError } from "./errors.ts";
import type { PieceTable } from "./pieces.ts";

/** The fields of an XBZRLE record that can be rewritten. */
export const XBZRLE_FIELDS = ["offset", "encoding", "length", "data[I]"] as const;

/** Every XBZRLE record of a layout, in stream order. */
export function xbzrleRecords(layout: StreamLayout): RamRecord[] {
  const out: RamRecord[] = [];
  for (const c of layout.chunks) {
    for (const r of c.ramRecords ?? []) if (r.kind === "xbzrle") out.push(r);
  }
  return out;
}

/** Check a field name (`offset`, `encoding`, `length`, `data[I]`); throws a syntax error. */
export function checkXbzrleField(field: string): void {
  if (["offset", "encoding", "length"].includes(field) || /^data\[\d+\]$/.test(field)) return;
  throw new CorruptOpError(
    "syntax",
    `XBZRLE field "${field}" is not one of ${XBZRLE_FIELDS.join(", ")}`,
  );
}

/** Rewrite one field of the `record`-th XBZRLE record in `table`. */
export function setXbzrleField(
  table: PieceTable,
  layout: StreamLayout,
  record: number,
  field: string,
  value: number,
): void {
  checkXbzrleField(field);
  const all = xbzrleRecords(layout);
  const r = all[record];
  if (!r) {
    throw new CorruptOpError(
      "not-found",
      `the stream has ${all.length} XBZRLE records, not a record ${record}`,
    );
  }
  const fits = (max: number) => {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) {
      throw new CorruptOpError("range", `${field} ${value} is not 0..${max}`);
    }
  };
  const at = r.deltaAt!;
  if (field === "offset") {
    fits(2 ** 52 - 1);
    const page = layout.pageSize;
    if (value % page !== 0) {
      throw new CorruptOpError("range", `offset 0x${value.toString(16)} is not page-aligned`);
    }
    // The flags stay: only the address bits of the be64 header change.
    const hdr = new Uint8Array(8);
    const dv = new DataView(hdr.buffer);
    dv.setUint32(0, Math.floor(value / 2 ** 32));
    dv.setUint32(4, (value >>> 0) | flagsOf(r));
    return table.replace(r.offset, r.offset + 8, [{ src: "bytes", bytes: hdr }]);
  }
  if (field === "encoding") {
    fits(255);
    return table.replace(at, at + 1, [{ src: "bytes", bytes: Uint8Array.of(value) }]);
  }
  if (field === "length") {
    fits(0xffff);
    return table.replace(at + 1, at + 3, [{
      src: "bytes",
      bytes: Uint8Array.of(value >>> 8, value & 0xff),
    }]);
  }
  fits(255);
  const index = Number(/^data\[(\d+)\]$/.exec(field)![1]);
  const len = r.offset + r.size - (at + 3);
  if (index >= len) {
    throw new CorruptOpError("range", `data[${index}]: the delta has ${len} bytes`);
  }
  return table.replace(at + 3 + index, at + 4 + index, [{
    src: "bytes",
    bytes: Uint8Array.of(value),
  }]);
}

/** The flag bits of a record's header: XBZRLE, plus CONTINUE when it did not name its block. */
function flagsOf(r: RamRecord): number {
  return RamFlag.XBZRLE | (r.named ? 0 : RamFlag.CONTINUE);
}
