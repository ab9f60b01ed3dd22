/**
 * The RAM section (`ram`, version 4) decoded without any schema: the block list, then page
 * records until EOS, counting zero and non-zero pages per RAMBlock. Page contents stream past
 * and are only handed to a sink (extract) or kept (dump-memory) when asked for.
 * @module
 */
import { StreamFormatError } from "../errors.ts";
import { RamFlag } from "../sections/constants.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { RamBlockInfo, RamChunkInfo, SectionState } from "./model.ts";
import { hexBytes } from "../format.ts";
import { xbzrleDecode } from "../ram/xbzrle.ts";
import type { WarnFn } from "./vmsd.ts";

/** Receives RAM contents as they stream past (used by extract). */
export interface RamSink {
  /** A block list was read: create or truncate one output per block. */
  blocks(list: { name: string; length: bigint }[]): Promise<void>;
  /** A page's bytes; `data` is only valid during the call. */
  page(block: string, addr: number, data: Uint8Array): Promise<void>;
  /** A page filled with one byte (ZERO record). */
  fill(block: string, addr: number, byte: number, pageSize: number): Promise<void>;
}

/** What the RAM decoder needs to know about the stream and the caller's wishes. */
export interface RamContext {
  pageSize: number;
  /** x-ignore-shared capability: block entries carry be64 mr_addr. */
  ignoreShared: boolean;
  dumpMemory: boolean;
  sink?: RamSink;
  warn: WarnFn;
}

interface BlockEntry {
  name: string;
  length: bigint;
  offset: number;
}

interface RamRecord {
  at: number;
  flags: number;
  addr: number;
  total?: bigint;
  blocks?: BlockEntry[];
  block?: string;
  fill?: number;
  data?: Uint8Array;
  /** An XBZRLE record's encoded delta (kept like page data). */
  delta?: Uint8Array;
  /** Bytes of the announced total that the block list did not cover. */
  unaccounted?: bigint;
}

/** Decode one RAM chunk payload (START/PART/END) up to and including its EOS record. */
export async function decodeRamChunk(
  r: StreamReader,
  state: SectionState,
  ctx: RamContext,
): Promise<RamChunkInfo> {
  const info: RamChunkInfo = {
    zeroPages: 0,
    dataPages: 0,
    xbzrlePages: 0,
    otherPages: 0,
    flushes: 0,
    eos: false,
  };
  state.blocks ??= [];
  if (ctx.dumpMemory) state.memory ??= new Map();
  const byName = new Map(state.blocks.map((b) => [b.name, b]));
  const keepData = ctx.dumpMemory || ctx.sink !== undefined;
  const warned = new Set<string>();
  while (!info.eos) {
    const rec = await r.retrying(() => readRecord(r, ctx, keepData, state.currentBlock));
    if (rec.blocks) {
      info.totalSize = rec.total;
      if (rec.unaccounted) {
        ctx.warn(
          "ram-block-list",
          rec.at,
          `RAM block list does not add up to its announced total (${rec.unaccounted} bytes off)`,
        );
      }
      for (const b of rec.blocks) {
        const known = byName.get(b.name);
        if (known) known.length = b.length;
        else {
          const blk: RamBlockInfo = {
            ...b,
            zeroPages: 0,
            dataPages: 0,
            xbzrlePages: 0,
            otherPages: 0,
          };
          state.blocks.push(blk);
          byName.set(b.name, blk);
        }
      }
      if (ctx.sink) await ctx.sink.blocks(rec.blocks.map(({ name, length }) => ({ name, length })));
    }
    if (rec.block === undefined) {
      if (rec.flags & RamFlag.MULTIFD_FLUSH) info.flushes++;
      if (rec.flags & RamFlag.EOS) info.eos = true;
      continue;
    }
    state.currentBlock = rec.block;
    const blk = byName.get(rec.block);
    if (!blk) {
      if (!warned.has(rec.block)) {
        warned.add(rec.block);
        ctx.warn(
          "ram-unknown-block",
          rec.at,
          `Page for RAM block "${rec.block}" that the block list did not announce`,
        );
      }
    } else if (BigInt(rec.addr) + BigInt(ctx.pageSize) > blk.length) {
      ctx.warn(
        "ram-offset",
        rec.at,
        `Illegal RAM offset 0x${rec.addr.toString(16)} in block "${rec.block}"`,
      );
    }
    const key = state.memory ? memoryKey(rec.block, rec.addr) : "";
    const valid = blk !== undefined && BigInt(rec.addr) + BigInt(ctx.pageSize) <= blk.length;
    if (rec.fill !== undefined) {
      info.zeroPages++;
      if (blk) blk.zeroPages++;
      state.memory?.set(key, `Filled with 0x${rec.fill.toString(16).padStart(2, "0")}`);
      if (ctx.sink && valid && rec.fill !== 0) {
        await ctx.sink.fill(rec.block, rec.addr, rec.fill, ctx.pageSize);
      }
    } else if (rec.flags & RamFlag.PAGE) {
      info.dataPages++;
      if (blk) blk.dataPages++;
      if (rec.data) {
        state.memory?.set(key, hexBytes(rec.data));
        if (ctx.sink && valid) await ctx.sink.page(rec.block, rec.addr, rec.data);
      }
    } else if (rec.flags & RamFlag.XBZRLE) {
      info.xbzrlePages++;
      if (blk) blk.xbzrlePages++;
      if (!state.sawXbzrle) {
        state.sawXbzrle = true;
        ctx.warn(
          "xbzrle",
          rec.at,
          "XBZRLE records (the xbzrle capability): snapshell decodes them; QEMU 7.2's " +
            'analyze-migration.py stops at the first one ("XBZRLE RAM compression is not ' +
            'supported yet")',
        );
      }
      if (state.memory && rec.delta) {
        state.memory.set(key, xbzrleMemory(state.memory.get(key), rec.delta, ctx.pageSize));
      }
    } else {
      info.otherPages++;
      if (blk) blk.otherPages++;
    }
    if (rec.flags & RamFlag.MULTIFD_FLUSH) info.flushes++;
    if (rec.flags & RamFlag.EOS) info.eos = true;
  }
  return info;
}

/**
 * The `-m` text of a page after an XBZRLE delta: the earlier page (hex or a fill) with the delta
 * applied, in hex; said in words when there is no earlier page or the delta does not decode.
 */
function xbzrleMemory(before: string | undefined, delta: Uint8Array, pageSize: number): string {
  if (before === undefined) {
    return `XBZRLE delta of ${delta.length} bytes for a page not sent before`;
  }
  const page = new Uint8Array(pageSize);
  const fill = /^Filled with 0x([0-9a-f]{2})$/.exec(before);
  if (fill) page.fill(parseInt(fill[1], 16));
  else if (!before.startsWith("XBZRLE")) {
    for (let i = 0; i < pageSize; i++) page[i] = parseInt(before.slice(i * 3, i * 3 + 2), 16);
  } else return `XBZRLE delta of ${delta.length} bytes on an undecodable page`;
  const fault = xbzrleDecode(delta, page);
  return fault
    ? `XBZRLE delta of ${delta.length} bytes that does not decode: ${fault.reason}`
    : hexBytes(page);
}

/** The analyze-migration.py key of a page in the `-m` memory dump. */
function memoryKey(block: string, addr: number): string {
  return `${block} (0x${addr.toString(16).padStart(16, "0")})`;
}

/** Scratch for a record header's two halves (readRecord is synchronous, so one suffices). */
const headerParts = new Uint32Array(2);

/** Read one record synchronously (restartable: no side effects outside the result). */
function readRecord(
  r: StreamReader,
  ctx: RamContext,
  keepData: boolean,
  current: string | undefined,
): RamRecord {
  const at = r.offset;
  const parts = headerParts;
  r.be64Parts(parts);
  const mask = ctx.pageSize - 1;
  let flags = parts[1] & mask;
  const low = (parts[1] & ~mask) >>> 0;
  const rec: RamRecord = { at, flags, addr: parts[0] * 0x1_0000_0000 + low };
  if (flags & RamFlag.MEM_SIZE) {
    rec.total = (BigInt(parts[0]) << 32n) | BigInt(low);
    [rec.blocks, rec.unaccounted] = readBlockList(r, rec.total, ctx);
    flags &= ~RamFlag.MEM_SIZE;
  }
  const pageish = RamFlag.ZERO | RamFlag.PAGE | RamFlag.XBZRLE | RamFlag.COMPRESS_PAGE;
  if (flags & pageish) {
    if (flags & RamFlag.CONTINUE) {
      if (current === undefined) {
        throw new StreamFormatError(
          "Ack, bad migration stream! (CONTINUE with no previous block)",
          {
            offset: at,
          },
        );
      }
      rec.block = current;
    } else rec.block = r.str8();
    if (flags & RamFlag.ZERO) rec.fill = r.u8();
    else if (flags & RamFlag.PAGE) {
      if (keepData) rec.data = r.borrow(ctx.pageSize);
      else r.skip(ctx.pageSize);
    } else if (flags & RamFlag.XBZRLE) {
      const enc = r.u8();
      if (enc !== 1) throw new StreamFormatError(`Unknown XBZRLE encoding ${enc}`, { offset: at });
      const len = r.be16();
      if (keepData) rec.delta = r.borrow(len);
      else r.skip(len);
    } else {
      const len = r.be32();
      r.checkAvailable(len, "compressed page");
      r.skip(len);
    }
  }
  if (flags & RamFlag.HOOK) {
    throw new StreamFormatError("RAM_SAVE_FLAG_HOOK (RDMA) record cannot be decoded", {
      offset: at,
    });
  }
  const known = pageish | RamFlag.CONTINUE | RamFlag.EOS | RamFlag.MULTIFD_FLUSH;
  if (flags & ~known) {
    throw new StreamFormatError(`Unknown combination of migration flags: 0x${flags.toString(16)}`, {
      offset: at,
    });
  }
  rec.flags = flags;
  return rec;
}

function readBlockList(r: StreamReader, total: bigint, ctx: RamContext): [BlockEntry[], bigint] {
  const out: BlockEntry[] = [];
  let left = total;
  // QEMU loops until the lengths add up to the total; the 7.2 script stopped at a zero length byte.
  while (left > 0n) {
    if (r.peekU8() === 0) break;
    const offset = r.offset;
    const name = r.str8();
    const length = r.be64();
    if (ctx.ignoreShared) r.skip(8);
    out.push({ name, length, offset });
    left -= length;
  }
  return [out, left];
}
