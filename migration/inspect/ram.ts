/**
 * The RAM section (`ram`, version 4) decoded without any schema: the block list, then page
 * records until EOS, counting zero and non-zero pages per RAMBlock. Page contents stream past
 * and are only handed to a sink (extract) or kept (dump-memory) when asked for.
 * @module
 */
import { StreamFormatError } from "../errors.ts";
import { RamFlag } from "../sections/constants.ts";
import { NeedMoreInput, type StreamReader } from "../stream/reader.ts";
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

/**
 * One record as read. A single instance is reused for every record of a walk, so the hot loop
 * allocates nothing per record; {@link readRecord} resets every field before it fills it.
 */
class RamRecord {
  at = 0;
  flags = 0;
  addr = 0;
  total: bigint | undefined = undefined;
  blocks: BlockEntry[] | undefined = undefined;
  block: string | undefined = undefined;
  /** Fill byte of a ZERO record; -1 for any other record. */
  fill = -1;
  data: Uint8Array | undefined = undefined;
  /** An XBZRLE record's encoded delta (kept like page data). */
  delta: Uint8Array | undefined = undefined;
  /** Bytes of the announced total that the block list did not cover. */
  unaccounted = 0n;
}

/** The state of one chunk's walk, shared by the async driver and its synchronous core. */
interface ChunkWalk {
  readonly r: StreamReader;
  readonly state: SectionState;
  readonly ctx: RamContext;
  readonly info: RamChunkInfo;
  readonly rec: RamRecord;
  readonly byName: Map<string, RamBlockInfo>;
  readonly keepData: boolean;
  /** Blocks already warned about as unannounced. */
  readonly warned: Set<string>;
  /** Block the last page record was about (cached lookup), its info and length as a number. */
  curName: string | undefined;
  curInfo: RamBlockInfo | undefined;
  curLimit: number;
  /** Where the record cut short by the buffer starts, and what it was short of. */
  start: number;
  short: NeedMoreInput | undefined;
  /** Sink calls the last record asks for: a block list, and/or its page (`rec`). */
  sinkBlocks: { name: string; length: bigint }[] | undefined;
  sinkPage: boolean;
}

/** Why {@link walkBuffered} returned. */
const STOP_EOS = 0, STOP_SHORT = 1, STOP_SINK = 2;

/**
 * Decode one RAM chunk payload (START/PART/END) up to and including its EOS record. Records are
 * decoded by a synchronous loop over the reader's buffer into one reused {@link RamRecord}; this
 * driver awaits only when the buffer runs dry or a sink must be called, so a chunk of 266,000
 * ZERO records costs no promise, closure or object per record (and, being synchronous, the loop
 * is optimised while it runs, which an async function's loop is not).
 */
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
  const w: ChunkWalk = {
    r,
    state,
    ctx,
    info,
    rec: new RamRecord(),
    byName: new Map(state.blocks.map((b) => [b.name, b])),
    keepData: ctx.dumpMemory || ctx.sink !== undefined,
    warned: new Set(),
    curName: undefined,
    curInfo: undefined,
    curLimit: 0,
    start: 0,
    short: undefined,
    sinkBlocks: undefined,
    sinkPage: false,
  };
  for (;;) {
    const stop = walkBuffered(w);
    if (stop === STOP_SHORT) {
      await r.refillFrom(w.start, w.short!);
      continue;
    }
    if (ctx.sink) await callSink(w, ctx.sink);
    if (stop === STOP_EOS) return info;
  }
}

/** Make the sink calls the last record asked for (its data is still in the reader's buffer). */
async function callSink(w: ChunkWalk, sink: RamSink): Promise<void> {
  if (w.sinkBlocks) {
    const list = w.sinkBlocks;
    w.sinkBlocks = undefined;
    await sink.blocks(list);
  }
  if (w.sinkPage) {
    w.sinkPage = false;
    const { rec, ctx } = w;
    if (rec.fill >= 0) await sink.fill(rec.block!, rec.addr, rec.fill, ctx.pageSize);
    else if (rec.data) await sink.page(rec.block!, rec.addr, rec.data);
  }
}

/**
 * Decode and count records while they are buffered: until EOS, a record cut short (`w.start`,
 * `w.short`; nothing of it counted) or a record that wants sink calls.
 */
function walkBuffered(w: ChunkWalk): number {
  const { r, ctx, info, rec, state } = w;
  const pageSize = ctx.pageSize;
  for (;;) {
    if (!w.keepData && w.curInfo !== undefined && state.currentBlock === w.curName) {
      const used = continueRun(w, r.bufferedBytes());
      if (used > 0) r.skip(used);
    }
    const start = r.offset;
    try {
      readRecord(r, ctx, w.keepData, state.currentBlock, rec);
    } catch (e) {
      if (!(e instanceof NeedMoreInput)) throw e;
      w.start = start;
      w.short = e;
      return STOP_SHORT;
    }
    if (rec.blocks) takeBlockList(w);
    const block = rec.block;
    if (block !== undefined) {
      state.currentBlock = block;
      if (block !== w.curName) lookUp(w, block);
      const blk = w.curInfo;
      const addr = rec.addr;
      let valid = false;
      if (!blk) {
        if (!w.warned.has(block)) {
          w.warned.add(block);
          ctx.warn(
            "ram-unknown-block",
            rec.at,
            `Page for RAM block "${block}" that the block list did not announce`,
          );
        }
      } else {
        valid = w.curLimit <= Number.MAX_SAFE_INTEGER
          ? addr + pageSize <= w.curLimit
          : BigInt(addr) + BigInt(pageSize) <= blk.length;
        if (!valid) {
          ctx.warn(
            "ram-offset",
            rec.at,
            `Illegal RAM offset 0x${addr.toString(16)} in block "${block}"`,
          );
        }
      }
      const memory = state.memory;
      if (rec.fill >= 0) {
        info.zeroPages++;
        if (blk) blk.zeroPages++;
        memory?.set(
          memoryKey(block, addr),
          `Filled with 0x${rec.fill.toString(16).padStart(2, "0")}`,
        );
        if (ctx.sink && valid && rec.fill !== 0) w.sinkPage = true;
      } else if (rec.flags & RamFlag.PAGE) {
        info.dataPages++;
        if (blk) blk.dataPages++;
        if (rec.data) {
          memory?.set(memoryKey(block, addr), hexBytes(rec.data));
          if (ctx.sink && valid) w.sinkPage = true;
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
        if (memory && rec.delta) {
          const key = memoryKey(block, addr);
          memory.set(key, xbzrleMemory(memory.get(key), rec.delta, pageSize));
        }
      } else {
        info.otherPages++;
        if (blk) blk.otherPages++;
      }
    }
    if (rec.flags & RamFlag.MULTIFD_FLUSH) info.flushes++;
    if (rec.flags & RamFlag.EOS) info.eos = true;
    if (info.eos) return STOP_EOS;
    if (w.sinkPage || w.sinkBlocks) return STOP_SINK;
  }
}

/**
 * The hot kernel: count a run of ZERO and PAGE records that continue the current block, straight
 * from the buffer (`bytes`), as long as each is whole, in bounds and needs nothing else (no
 * contents kept, no warning); returns the bytes used. Anything else is left to
 * {@link readRecord}, which then decodes it exactly as it would have.
 */
function continueRun(w: ChunkWalk, bytes: Uint8Array): number {
  const pageSize = w.ctx.pageSize;
  const mask = pageSize - 1;
  const limit = w.curLimit;
  const blk = w.curInfo!;
  if (limit > Number.MAX_SAFE_INTEGER) return 0;
  const zeroFlags = RamFlag.ZERO | RamFlag.CONTINUE;
  const pageFlags = RamFlag.PAGE | RamFlag.CONTINUE;
  const n = bytes.length;
  let i = 0;
  let zeros = 0;
  let pages = 0;
  while (i + 9 <= n) {
    const hi = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>>
      0;
    const lo =
      ((bytes[i + 4] << 24) | (bytes[i + 5] << 16) | (bytes[i + 6] << 8) | bytes[i + 7]) >>>
      0;
    const flags = lo & mask;
    const addr = hi * 0x1_0000_0000 + ((lo & ~mask) >>> 0);
    if (addr + pageSize > limit) break;
    if (flags === zeroFlags) {
      zeros++;
      i += 9;
    } else if (flags === pageFlags && i + 8 + pageSize <= n) {
      pages++;
      i += 8 + pageSize;
    } else break;
  }
  w.info.zeroPages += zeros;
  blk.zeroPages += zeros;
  w.info.dataPages += pages;
  blk.dataPages += pages;
  return i;
}

/** A block list record: note the announced lengths and new blocks, and queue it for the sink. */
function takeBlockList(w: ChunkWalk): void {
  const { rec, state, info } = w;
  info.totalSize = rec.total;
  if (rec.unaccounted) {
    w.ctx.warn(
      "ram-block-list",
      rec.at,
      `RAM block list does not add up to its announced total (${rec.unaccounted} bytes off)`,
    );
  }
  for (const b of rec.blocks!) {
    const known = w.byName.get(b.name);
    if (known) known.length = b.length;
    else {
      const blk: RamBlockInfo = {
        ...b,
        zeroPages: 0,
        dataPages: 0,
        xbzrlePages: 0,
        otherPages: 0,
      };
      state.blocks!.push(blk);
      w.byName.set(b.name, blk);
    }
  }
  w.curName = undefined; // lengths may have changed
  if (w.ctx.sink) w.sinkBlocks = rec.blocks!.map(({ name, length }) => ({ name, length }));
}

/** Point the walk's cached block at `name` (no info when the block list did not announce it). */
function lookUp(w: ChunkWalk, name: string): void {
  w.curName = name;
  w.curInfo = w.byName.get(name);
  w.curLimit = w.curInfo ? Number(w.curInfo.length) : 0;
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

/**
 * Read one record synchronously into `rec` (restartable: it changes nothing but `rec` and the
 * reader's position, so a record cut short by the buffer is simply read again).
 */
function readRecord(
  r: StreamReader,
  ctx: RamContext,
  keepData: boolean,
  current: string | undefined,
  rec: RamRecord,
): void {
  const at = r.offset;
  const parts = headerParts;
  r.be64Parts(parts);
  const mask = ctx.pageSize - 1;
  let flags = parts[1] & mask;
  const low = (parts[1] & ~mask) >>> 0;
  rec.at = at;
  rec.addr = parts[0] * 0x1_0000_0000 + low;
  rec.total = undefined;
  rec.blocks = undefined;
  rec.block = undefined;
  rec.fill = -1;
  rec.data = undefined;
  rec.delta = undefined;
  if (flags & RamFlag.MEM_SIZE) {
    const total = rec.total = (BigInt(parts[0]) << 32n) | BigInt(low);
    [rec.blocks, rec.unaccounted] = readBlockList(r, total, ctx);
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
    } else rec.block = r.str8Like(current);
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
