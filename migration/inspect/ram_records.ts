/**
 * Every record of a RAM chunk with its byte range: the block list entries, ZERO, PAGE and XBZRLE
 * records, flushes and EOS. The inspector only counts pages; the hex dump, the HTML page strip
 * and corrupt need to know where each record sits, so they walk the payload again here.
 * @module
 */
import type { ByteAccess } from "./byte_access.ts";
import { RamFlag } from "../sections/constants.ts";

/** What a RAM record is. */
export type RamRecordKind =
  | "mem-size"
  | "block"
  | "zero"
  | "page"
  | "xbzrle"
  | "flush"
  | "eos"
  | "other";

/** One record of a RAM chunk. */
export interface RamRecord {
  kind: RamRecordKind;
  /** Absolute offset of the record's first byte. */
  offset: number;
  /** Bytes the record occupies. */
  size: number;
  /** RAMBlock the record is about (block list entries and pages). */
  block?: string;
  /** Page offset inside the block, or the block length for block list entries. */
  addr?: number;
  /** Fill byte of a ZERO record. */
  fill?: number;
  /** Whether the page record named its block (no CONTINUE flag). */
  named?: boolean;
  /** XBZRLE record: where its encoding byte is (then be16 length, then the delta). */
  deltaAt?: number;
}

/** Result of walking one chunk payload. */
export interface RamWalk {
  records: RamRecord[];
  /** Block the last page record named (what a later CONTINUE refers to). */
  current?: string;
  /** Offset where walking stopped because the records could not be followed, if it did. */
  stoppedAt?: number;
}

const WINDOW = 256 * 1024;

/** Reads forward through a ByteAccess with a window, so records cost no per-record I/O. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  constructor(
    private readonly access: ByteAccess,
    public at: number,
    private readonly end: number,
  ) {}

  /** Whether `n` bytes from `at` are in the window already (the common case: no await). */
  has(n: number): boolean {
    return this.at + n <= this.end && this.at >= this.base &&
      this.at + n <= this.base + this.buf.length;
  }

  async need(n: number): Promise<boolean> {
    if (this.at + n > this.end) return false;
    if (this.at >= this.base && this.at + n <= this.base + this.buf.length) return true;
    this.base = this.at;
    this.buf = await this.access.read(this.at, Math.max(n, Math.min(WINDOW, this.end - this.at)));
    return this.buf.length >= n;
  }

  u8(): number {
    return this.buf[this.at++ - this.base];
  }

  be32(): number {
    const i = this.at - this.base;
    this.at += 4;
    const b = this.buf;
    return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  }

  str(n: number): string {
    const i = this.at - this.base;
    this.at += n;
    return String.fromCharCode(...this.buf.subarray(i, i + n));
  }
}

/**
 * Walk the records of a RAM chunk payload `[start, end)`. `current` is the block a CONTINUE
 * record refers to at the start. Stops (with `stoppedAt`) at anything it cannot follow.
 */
export async function walkRamRecords(
  access: ByteAccess,
  start: number,
  end: number,
  pageSize: number,
  current?: string,
  ignoreShared = false,
): Promise<RamWalk> {
  const c = new Cursor(access, start, end);
  const records: RamRecord[] = [];
  const mask = pageSize - 1;
  while (c.at < end) {
    const at = c.at;
    if (!(c.has(8) || await c.need(8))) return { records, current, stoppedAt: at };
    const hi = c.be32();
    const lo = c.be32();
    const flags = lo & mask;
    const addr = hi * 0x1_0000_0000 + ((lo & ~mask) >>> 0);
    if (flags & RamFlag.MEM_SIZE) {
      records.push({ kind: "mem-size", offset: at, size: 8, addr });
      let left = addr;
      while (left > 0) {
        const e = c.at;
        if (!(c.has(1) || await c.need(1))) return { records, current, stoppedAt: e };
        const n = c.u8();
        const entry = 1 + n + 8 + (ignoreShared ? 8 : 0);
        if (n === 0 || !(c.has(entry - 1) || await c.need(entry - 1))) {
          return { records, current, stoppedAt: e };
        }
        const name = c.str(n);
        const len = c.be32() * 0x1_0000_0000 + c.be32();
        if (ignoreShared) c.at += 8;
        records.push({ kind: "block", offset: e, size: entry, block: name, addr: len });
        left -= len;
      }
      continue;
    }
    if (flags === RamFlag.EOS) {
      records.push({ kind: "eos", offset: at, size: 8 });
      return { records, current };
    }
    if (flags === RamFlag.MULTIFD_FLUSH) {
      records.push({ kind: "flush", offset: at, size: 8 });
      continue;
    }
    const kind = flags & ~RamFlag.CONTINUE;
    if (kind !== RamFlag.ZERO && kind !== RamFlag.PAGE && kind !== RamFlag.XBZRLE) {
      return { records, current, stoppedAt: at };
    }
    const named = (flags & RamFlag.CONTINUE) === 0;
    if (named) {
      if (!(c.has(1) || await c.need(1))) return { records, current, stoppedAt: at };
      const n = c.u8();
      if (!(c.has(n) || await c.need(n))) return { records, current, stoppedAt: at };
      current = c.str(n);
    } else if (current === undefined) return { records, current, stoppedAt: at };
    if (kind === RamFlag.XBZRLE) {
      const deltaAt = c.at;
      if (!(c.has(3) || await c.need(3))) return { records, current, stoppedAt: at };
      c.u8();
      const len = (c.u8() << 8) | c.u8();
      if (c.at + len > end) return { records, current, stoppedAt: at };
      c.at += len;
      records.push({
        kind: "xbzrle",
        offset: at,
        size: c.at - at,
        block: current,
        addr,
        named,
        deltaAt,
      });
      continue;
    }
    const body = kind === RamFlag.ZERO ? 1 : pageSize;
    if (c.at + body > end) return { records, current, stoppedAt: at };
    let fill: number | undefined;
    if (kind === RamFlag.ZERO) {
      if (!c.has(1)) await c.need(1);
      fill = c.u8();
    } else c.at += pageSize;
    const rec: RamRecord = {
      kind: kind === RamFlag.ZERO ? "zero" : "page",
      offset: at,
      size: c.at - at,
      block: current,
      addr,
      named,
    };
    if (fill !== undefined) rec.fill = fill;
    records.push(rec);
  }
  return { records, current };
}
