/**
 * QEMU's iterative `ram` section (version 4, migration/ram.c as of 7.2): the block list in the
 * START chunk, ZERO and PAGE records with CONTINUE in PART chunks, the pages still dirty in the
 * END chunk, each chunk closed by EOS. Saving keeps QEMU's migration bitmap (pages still to send)
 * and folds the emulator's dirty bitmap into it between rounds; pages never written since reset
 * are sent as ZERO records without being scanned. With XBZRLE on (QEMU's `xbzrle` capability),
 * pages resent after the first round go as deltas against a page cache (XBZRLE records). Loading
 * checks every record before touching guest memory and keeps an undo journal, so a stream rejected
 * later leaves RAM exactly as it was.
 * @module
 */
import {
  SaveError,
  StreamFormatError,
  UnknownEntityError,
  VersionMismatchError,
} from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import { RamFlag } from "../sections/constants.ts";
import type { IterativeHandlers } from "../sections/registry.ts";
import { countPages, foldInto, newBitmap, setAllPages, setPage, testPage } from "./page_bitmap.ts";
import { PageCache } from "./page_cache.ts";
import { RamUndoJournal } from "./ram_journal.ts";
import { ENCODING_FLAG_XBZRLE, xbzrleDecode, xbzrleEncode } from "./xbzrle.ts";

/** One migratable RAM region as the section sees it. */
export interface RamBlock {
  /** Block idstr on the wire (e.g. "riscv_virt_board.ram"). */
  readonly idstr: string;
  /** The block's bytes (used_length = its length). */
  readonly bytes: Uint8Array;
  /** Live dirty bitmap that writers set (one bit per page); a save folds it in and clears it. */
  readonly dirty?: Uint32Array;
  /**
   * Pages that may hold data apart from those in `dirty`; a page set in neither is all zeros and
   * is neither scanned on save nor copied into the journal on load. Without it every page counts
   * as possibly non-zero. Loads set the bits of pages they fill.
   */
  readonly written?: Uint32Array;
  /** Told which pages an accepted load changed (the emulator drops decoded instructions there). */
  readonly onLoaded?: (changed: Uint32Array) => void;
}

/** Counters of the last save or load. */
export interface RamStats {
  /** Pages sent or received as ZERO records. */
  zeroPages: number;
  /** Pages sent or received as PAGE records. */
  normalPages: number;
  /** Bytes of page payload moved (XBZRLE deltas count their encoded bytes). */
  bytes: number;
  /** Pages sent or received as XBZRLE deltas. */
  xbzrlePages: number;
  /** Encoded bytes of those deltas, with their 3-byte headers (QEMU's xbzrle bytes, less 8). */
  xbzrleBytes: number;
  /** Resent pages that were not in the XBZRLE cache (sent whole). */
  xbzrleCacheMisses: number;
  /** Cache hits whose delta would not fit a page (sent whole). */
  xbzrleOverflows: number;
  /** Dirty pages equal to their cached copy: not sent at all. */
  xbzrleSkipped: number;
}

/** Counters all zero (a new save or load starts from these). */
export function emptyStats(): RamStats {
  return {
    zeroPages: 0,
    normalPages: 0,
    bytes: 0,
    xbzrlePages: 0,
    xbzrleBytes: 0,
    xbzrleCacheMisses: 0,
    xbzrleOverflows: 0,
    xbzrleSkipped: 0,
  };
}

/** What one dirty-bitmap sync found (QEMU's migration_bitmap_sync). */
export interface RamSyncResult {
  /** Pages written since the previous sync. */
  dirtied: number;
  /** Pages now waiting to be sent. */
  pending: number;
}

/** The version of the ram section QEMU 7.2 writes and accepts. */
export const RAM_SECTION_VERSION = 4;

function isZeroPage(words: Int32Array, first: number, count: number): boolean {
  for (let i = first, end = first + count; i < end; i += 4) {
    if ((words[i] | words[i + 1] | words[i + 2] | words[i + 3]) !== 0) return false;
  }
  return true;
}

const wordViews = new WeakMap<Uint8Array, Int32Array>();

/** A cached Int32 view of a block (byte offset and length are multiples of 4 for pages). */
function wordsOf(bytes: Uint8Array): Int32Array {
  let v = wordViews.get(bytes);
  if (!v) {
    v = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    wordViews.set(bytes, v);
  }
  return v;
}

function blockPages(b: RamBlock, ps: number): number {
  return Math.floor(b.bytes.length / ps);
}

/** Save/load handlers for the `ram` section over a fixed list of blocks. */
export class RamSection implements IterativeHandlers {
  /** Counters of the most recent operation. */
  stats: RamStats = emptyStats();
  /**
   * XBZRLE cache size in bytes for saves started from now on (QEMU's xbzrle-cache-size with the
   * xbzrle capability on), or null for plain pages.
   */
  xbzrleCacheSize: number | null = null;
  /** Pages still to send per block while a save is under way (QEMU's migration bitmap). */
  private pending: Map<RamBlock, Uint32Array> | null = null;
  private sendOrder: readonly RamBlock[] = [];
  private saveCurrent: RamBlock | undefined;
  private loadCurrent: RamBlock | undefined;
  private sawMemSize = false;
  private readonly journal: RamUndoJournal;
  private loadBlocks: readonly RamBlock[] = [];
  private readonly hdr = new Uint32Array(2);
  /** The save's XBZRLE state: the cache, from its START chunk to its END chunk. */
  private cache: PageCache | null = null;
  /** XBZRLE is used once the first full round is out (QEMU: after the first complete round). */
  private xbzrleActive = false;
  /** The cache's notion of time: dirty-bitmap syncs so far (QEMU's dirty_sync_count). */
  private syncAge = 0;
  /** In the stop-and-copy the cache is no longer updated (QEMU's last_stage). */
  private lastStage = false;
  /** First cache page number of each block (blocks share one cache, as in QEMU's ram_addr). */
  private blockBase = new Map<RamBlock, number>();
  private encoded = new Uint8Array(0);
  /** Load side: pages this stream has sent so far, per block (the base an XBZRLE delta needs). */
  private received = new Map<RamBlock, Uint32Array>();
  private scratch = new Uint8Array(0);

  /**
   * @param blocks the machine's RAM blocks, in stream order
   * @param pageSize target page size (4096 on RISC-V)
   */
  constructor(private readonly blocks: () => readonly RamBlock[], readonly pageSize = 4096) {
    this.journal = new RamUndoJournal(pageSize);
  }

  /** True between a save's START chunk and its END chunk (or {@link cancel}). */
  get saving(): boolean {
    return this.pending !== null;
  }

  /**
   * START payload: total size with MEM_SIZE, each block's idstr and length, EOS. Every page
   * becomes pending and the dirty bitmaps start afresh (QEMU's ram_save_setup).
   */
  saveSetup(w: StreamWriter): void {
    const blocks = this.blocks();
    const total = blocks.reduce((s, b) => s + b.bytes.length, 0);
    w.be64Parts(Math.floor(total / 2 ** 32), (total >>> 0) | RamFlag.MEM_SIZE);
    for (const b of blocks) {
      w.str8(b.idstr);
      w.be64Parts(Math.floor(b.bytes.length / 2 ** 32), b.bytes.length >>> 0);
    }
    w.be64Parts(0, RamFlag.EOS);
    this.pending = new Map();
    this.sendOrder = blocks;
    for (const b of blocks) {
      const pages = blockPages(b, this.pageSize);
      const bm = newBitmap(pages);
      setAllPages(bm, pages);
      this.pending.set(b, bm);
      if (b.dirty) {
        if (b.written) foldInto(b.written, b.dirty);
        b.dirty.fill(0);
      }
    }
    this.saveCurrent = undefined;
    this.stats = emptyStats();
    this.startXbzrle(blocks);
  }

  /** A fresh cache for this save when XBZRLE is on (sized and checked as QEMU's cache_init). */
  private startXbzrle(blocks: readonly RamBlock[]): void {
    this.cache = null;
    this.xbzrleActive = false;
    this.lastStage = false;
    this.syncAge = 1; // QEMU's setup sync
    if (this.xbzrleCacheSize === null) return;
    const ps = this.pageSize;
    let base = 0;
    this.blockBase = new Map();
    for (const b of blocks) {
      this.blockBase.set(b, base);
      base += blockPages(b, ps);
    }
    try {
      this.cache = new PageCache(this.xbzrleCacheSize, ps, base);
    } catch (e) {
      throw new SaveError(`ram: ${(e as Error).message}`, { section: "ram" });
    }
    if (this.encoded.length !== ps) this.encoded = new Uint8Array(ps);
  }

  /** Fold pages written since the last sync into the pending set (QEMU's bitmap sync). */
  syncDirty(): RamSyncResult {
    const pending = this.requirePending("sync the dirty bitmap");
    this.syncAge++;
    let dirtied = 0;
    for (const b of this.sendOrder) {
      if (!b.dirty) continue;
      dirtied += foldInto(pending.get(b)!, b.dirty);
      if (b.written) foldInto(b.written, b.dirty);
      b.dirty.fill(0);
    }
    return { dirtied, pending: this.pendingPages };
  }

  /** Pages waiting to be sent in the current save (0 outside a save). */
  get pendingPages(): number {
    if (!this.pending) return 0;
    let n = 0;
    for (const bm of this.pending.values()) n += countPages(bm);
    return n;
  }

  /** PART payload: every pending page, then EOS; resolves true (nothing is left pending). */
  async saveIterate(w: StreamWriter): Promise<boolean> {
    await this.sendPending(w);
    w.be64Parts(0, RamFlag.EOS);
    if (this.cache) this.xbzrleActive = true; // every page has gone out once
    return true;
  }

  /** END payload, written with the guest stopped: a last sync, the pages still pending, EOS. */
  async saveComplete(w: StreamWriter): Promise<void> {
    this.syncDirty();
    this.lastStage = true;
    await this.sendPending(w);
    w.be64Parts(0, RamFlag.EOS);
    this.pending = null;
    this.cache = null;
  }

  /**
   * QEMU's xbzrle_cache_resize, mid-flight: a new cache of `bytes` replaces the old one, whose
   * pages are dropped (they go whole the next time, then as deltas again). Applies to saves
   * started later too. Throws a SaveError for a size QEMU refuses.
   */
  resizeXbzrleCache(bytes: number): void {
    if (this.xbzrleCacheSize === null) return;
    this.xbzrleCacheSize = bytes;
    if (!this.cache) return;
    let pages = 0;
    for (const b of this.sendOrder) pages += blockPages(b, this.pageSize);
    try {
      this.cache = new PageCache(bytes, this.pageSize, pages);
    } catch (e) {
      throw new SaveError(`ram: ${(e as Error).message}`, { section: "ram" });
    }
  }

  /** The XBZRLE cache's size now (null: no cache in use). */
  get xbzrleCacheBytes(): number | null {
    return this.cache ? this.cache.slots * this.pageSize : null;
  }

  /**
   * Postcopy switch-over (guest stopped): a last dirty sync, then the pages still to send as
   * byte ranges per block, the MIG_CMD_POSTCOPY_RAM_DISCARD content (the destination drops them
   * and faults them in). From here pages go without XBZRLE, each chunk naming its block first.
   */
  startPostcopy(): { idstr: string; ranges: [number, number][] }[] {
    const pending = this.requirePending("switch to postcopy");
    this.syncDirty();
    this.cache = null;
    this.xbzrleActive = false;
    this.saveCurrent = undefined;
    const ps = this.pageSize;
    const out: { idstr: string; ranges: [number, number][] }[] = [];
    for (const b of this.sendOrder) {
      const bm = pending.get(b)!;
      const ranges: [number, number][] = [];
      let start = -1;
      const pages = blockPages(b, ps);
      for (let p = 0; p <= pages; p++) {
        const set = p < pages && testPage(bm, p);
        if (set && start < 0) start = p;
        else if (!set && start >= 0) {
          ranges.push([start * ps, (p - start) * ps]);
          start = -1;
        }
      }
      out.push({ idstr: b.idstr, ranges });
    }
    return out;
  }

  /**
   * Postcopy: send the page at byte `offset` of block `idstr` now if it is still pending (a
   * destination's REQ_PAGES); resolves false when it had gone already or is unknown.
   */
  async sendRequested(w: StreamWriter, idstr: string, offset: number): Promise<boolean> {
    const pending = this.requirePending("send a requested page");
    const b = this.sendOrder.find((x) => x.idstr === idstr);
    if (!b || offset % this.pageSize !== 0 || offset >= b.bytes.length) return false;
    const p = offset / this.pageSize;
    const bm = pending.get(b)!;
    if (!testPage(bm, p)) return false;
    const one = newBitmap(blockPages(b, this.pageSize));
    setPage(one, p);
    bm[p >>> 5] &= ~(1 << (p & 31));
    await this.sendBlock(w, b, one);
    return true;
  }

  /** Postcopy background push: up to `max` pending pages in order; resolves the pages sent. */
  async sendSome(w: StreamWriter, max: number): Promise<number> {
    const pending = this.requirePending("send pages");
    let sent = 0;
    for (const b of this.sendOrder) {
      const bm = pending.get(b)!;
      const batch = newBitmap(blockPages(b, this.pageSize));
      let any = false;
      for (let wi = 0; wi < bm.length && sent < max; wi++) {
        let bits = bm[wi];
        while (bits !== 0 && sent < max) {
          const low = bits & -bits;
          bits ^= low;
          batch[wi] |= low;
          bm[wi] &= ~low;
          sent++;
          any = true;
        }
      }
      if (any) await this.sendBlock(w, b, batch);
      if (sent >= max) break;
    }
    return sent;
  }

  /** Postcopy chunks name their block first (a chunk may be the first the destination reads). */
  forgetCurrentBlock(): void {
    this.saveCurrent = undefined;
  }

  /** The blocks of the load under way (their order in the stream's block list). */
  get loadingBlocks(): readonly RamBlock[] {
    return this.loadBlocks;
  }

  /**
   * Postcopy destination: pages of block `idstr` this load has received (a live view), or
   * undefined before the START chunk.
   */
  receivedPages(idstr: string): Uint32Array | undefined {
    const b = this.loadBlocks.find((x) => x.idstr === idstr);
    return b ? this.received.get(b) : undefined;
  }

  /**
   * MIG_CMD_POSTCOPY_RAM_DISCARD on the destination: the pages of `[start, start+length)` are
   * stale and count as not received (faulted in again). Throws for an unknown block or a range
   * outside it or not page aligned.
   */
  discard(idstr: string, start: number, length: number, at: number): void {
    const b = this.loadBlocks.find((x) => x.idstr === idstr);
    const received = b ? this.received.get(b) : undefined;
    if (!b || !received) {
      throw new UnknownEntityError(`postcopy discard: unknown RAM block "${idstr}"`, {
        offset: at,
        path: "discard.name",
      });
    }
    const ps = this.pageSize;
    if (start % ps !== 0 || length % ps !== 0 || start + length > b.bytes.length) {
      throw new StreamFormatError(
        `postcopy discard range 0x${start.toString(16)}+0x${length.toString(16)} is not ` +
          `page aligned inside ${idstr} (0x${b.bytes.length.toString(16)} bytes)`,
        { offset: at, path: "discard.range" },
      );
    }
    for (let p = start / ps, end = (start + length) / ps; p < end; p++) {
      received[p >>> 5] &= ~(1 << (p & 31));
    }
  }

  /**
   * Postcopy destination: keep the pages loaded so far (no undo: the guest runs on them) and
   * tell each block which changed; the current block stays for CONTINUE records.
   */
  keepLoaded(): void {
    for (const b of this.loadBlocks) {
      const changed = this.journal.changedPages(b.bytes);
      if (changed) b.onLoaded?.(changed);
    }
    this.journal.clear();
  }

  /**
   * Abandon the save under way (the source keeps running): pages not yet sent go back into the
   * dirty bitmaps, so nothing written by the guest is forgotten.
   */
  cancel(): void {
    if (!this.pending) return;
    for (const b of this.sendOrder) if (b.dirty) foldInto(b.dirty, this.pending.get(b)!);
    this.pending = null;
    this.saveCurrent = undefined;
    this.cache = null;
  }

  private requirePending(what: string): Map<RamBlock, Uint32Array> {
    if (!this.pending) {
      throw new SaveError(`ram: cannot ${what} before the START chunk`, { section: "ram" });
    }
    return this.pending;
  }

  private async sendPending(w: StreamWriter): Promise<void> {
    const pending = this.requirePending("send pages");
    for (const b of this.sendOrder) await this.sendBlock(w, b, pending.get(b)!);
  }

  /** Send the pages of `block` set in `todo`, clearing them; flushes as the buffer fills. */
  private async sendBlock(w: StreamWriter, block: RamBlock, todo: Uint32Array): Promise<void> {
    const ps = this.pageSize;
    const wpp = ps >>> 2;
    const words = wordsOf(block.bytes);
    const bytes = block.bytes;
    const written = block.written;
    const dirty = block.dirty;
    const stats = this.stats;
    const cache = this.xbzrleActive ? this.cache : null;
    const base = cache ? this.blockBase.get(block)! : 0;
    for (let wi = 0; wi < todo.length; wi++) {
      let bits = todo[wi];
      if (bits === 0) continue;
      todo[wi] = 0;
      const maybe = written ? (written[wi] | (dirty ? dirty[wi] : 0)) : -1;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const p = (wi << 5) + 31 - Math.clz32(low);
        const off = p * ps;
        const zero = (maybe & low) === 0 || isZeroPage(words, p * wpp, wpp);
        if (cache) {
          if (zero) cache.insertZero(base + p, this.syncAge);
          else {
            const n = this.xbzrleDelta(cache, bytes.subarray(off, off + ps), base + p);
            if (n === 0) continue; // equal to what the destination has: nothing to send
            if (n > 0) {
              this.pageHeader(w, block, off, RamFlag.XBZRLE);
              w.u8(ENCODING_FLAG_XBZRLE);
              w.be16(n);
              w.bytes(this.encoded.subarray(0, n));
              stats.xbzrlePages++;
              stats.xbzrleBytes += n + 3;
              stats.bytes += n;
              continue;
            }
          }
        }
        this.pageHeader(w, block, off, zero ? RamFlag.ZERO : RamFlag.PAGE);
        if (zero) {
          w.u8(0);
          stats.zeroPages++;
        } else {
          w.bytes(bytes.subarray(off, off + ps));
          stats.normalPages++;
          stats.bytes += ps;
        }
      }
      if (w.pending >= w.flushThreshold) await w.flushBehind();
    }
  }

  /** A page record's header: offset and flags, CONTINUE or the block's idstr. */
  private pageHeader(w: StreamWriter, block: RamBlock, off: number, kind: number): void {
    if (this.saveCurrent === block) {
      w.be64Parts(off / 0x1_0000_0000 >>> 0, (off >>> 0) | kind | RamFlag.CONTINUE);
    } else {
      w.be64Parts(off / 0x1_0000_0000 >>> 0, (off >>> 0) | kind);
      w.str8(block.idstr);
      this.saveCurrent = block;
    }
  }

  /**
   * QEMU's save_xbzrle_page for a non-zero page: the delta's length in `encoded`, 0 when the page
   * equals its cached copy (nothing is sent), -1 when it goes as a normal page (a cache miss,
   * inserted unless in the stop-and-copy, or a delta that overflows a page).
   */
  private xbzrleDelta(cache: PageCache, cur: Uint8Array, page: number): number {
    const stats = this.stats;
    if (!cache.isCached(page, this.syncAge)) {
      stats.xbzrleCacheMisses++;
      if (!this.lastStage) cache.insert(page, cur, this.syncAge);
      return -1;
    }
    const prev = cache.get(page);
    const n = xbzrleEncode(prev, cur, this.encoded);
    if (!this.lastStage && n !== 0) prev.set(cur);
    if (n === 0) stats.xbzrleSkipped++;
    else if (n < 0) stats.xbzrleOverflows++;
    return n;
  }

  /** Load one chunk: the block list (START) and page records up to EOS. */
  async load(r: StreamReader, version: number, phase: "start" | "part" | "end"): Promise<void> {
    if (version !== RAM_SECTION_VERSION) {
      throw new VersionMismatchError("ram", version, RAM_SECTION_VERSION, RAM_SECTION_VERSION, {
        offset: r.offset,
      });
    }
    if (phase === "start") {
      this.loadCurrent = undefined;
      this.sawMemSize = false;
      this.loadBlocks = this.blocks();
      this.stats = emptyStats();
      this.received = new Map(
        this.loadBlocks.map((b) => [b, newBitmap(blockPages(b, this.pageSize))]),
      );
    }
    const ps = this.pageSize;
    const hdr = this.hdr;
    for (;;) {
      const at = r.offset;
      if (r.buffered < 8) await r.ensure(8);
      r.be64Parts(hdr);
      const lo = hdr[1];
      const flags = lo & (ps - 1);
      const addr = hdr[0] * 2 ** 32 + (lo - flags);
      if (flags & RamFlag.MEM_SIZE) {
        if (phase !== "start" || this.sawMemSize || flags !== RamFlag.MEM_SIZE) {
          throw new StreamFormatError(
            `RAM block list (MEM_SIZE) out of place, flags 0x${flags.toString(16)}`,
            { offset: at },
          );
        }
        this.sawMemSize = true;
        await this.loadBlockList(r, addr);
        continue;
      }
      if (flags === RamFlag.EOS) return;
      if (flags === RamFlag.MULTIFD_FLUSH) continue;
      const kind = flags & ~RamFlag.CONTINUE;
      if (kind !== RamFlag.ZERO && kind !== RamFlag.PAGE && kind !== RamFlag.XBZRLE) {
        throw new StreamFormatError(
          `Unknown combination of migration flags: 0x${flags.toString(16)}`,
          { offset: at },
        );
      }
      if (!this.sawMemSize) {
        throw new StreamFormatError("RAM page before the block list", { offset: at });
      }
      let block = this.loadCurrent;
      if (flags & RamFlag.CONTINUE) {
        if (!block) {
          throw new StreamFormatError("Ack, bad migration stream! (CONTINUE with no block)", {
            offset: at,
          });
        }
      } else {
        block = await this.namedBlock(r, at);
      }
      if (addr + ps > block.bytes.length) {
        throw new StreamFormatError(
          `Illegal RAM offset 0x${addr.toString(16)} in block ${block.idstr} of 0x${
            block.bytes.length.toString(16)
          } bytes`,
          { offset: at },
        );
      }
      const page = addr / ps;
      const received = this.received.get(block);
      if (kind === RamFlag.XBZRLE) {
        await this.loadXbzrlePage(r, block, page, at);
        continue;
      }
      if (received) setPage(received, page);
      if (kind === RamFlag.ZERO) {
        if (r.buffered < 1) await r.ensure(1);
        this.loadZeroPage(block, page, r.u8());
        this.skipZeroRun(r, block, received);
      } else {
        if (r.buffered < ps) await r.ensure(ps);
        const src = r.borrow(ps);
        this.journal.before(block.bytes, page, this.knownZero(block, page));
        block.bytes.set(src, addr);
        if (block.written) setPage(block.written, page);
        this.stats.normalPages++;
        this.stats.bytes += ps;
      }
    }
  }

  /** The block whose idstr follows a record header (not CONTINUE); it becomes the current one. */
  private async namedBlock(r: StreamReader, at: number): Promise<RamBlock> {
    if (r.buffered < 1) await r.ensure(1);
    const nameLen = 1 + r.peekU8(0)!;
    if (r.buffered < nameLen) await r.ensure(nameLen);
    const name = r.str8();
    const block = this.loadBlocks.find((b) => b.idstr === name);
    if (!block) throw new UnknownEntityError(`Can't find block ${name}`, { offset: at });
    this.loadCurrent = block;
    return block;
  }

  /**
   * After a ZERO record: consume the run of buffered records that follow it and change nothing
   * (ZERO with CONTINUE, fill byte 0, inside the block, on a page still known to be zero), with
   * the same counts as record-by-record loading. A fresh 1 GiB guest is 262,144 such records.
   * Stops at the first record that needs the general path (which then checks it).
   */
  private skipZeroRun(r: StreamReader, block: RamBlock, received?: Uint32Array): void {
    // Most records after a ZERO record in a mixed stream are not another one: look at the next
    // header's flag byte before making views over the window.
    const want = RamFlag.ZERO | RamFlag.CONTINUE;
    if (r.buffered < 9 || r.peekU8(7) !== want) return;
    const ps = this.pageSize;
    const len = block.bytes.length;
    const win = r.peekBytes(0, r.buffered);
    const view = new DataView(win.buffer, win.byteOffset, win.byteLength);
    let at = 0;
    for (; at + 9 <= win.length; at += 9) {
      const lo = view.getUint32(at + 4);
      if ((lo & (ps - 1)) !== want || win[at + 8] !== 0) break;
      const addr = view.getUint32(at) * 2 ** 32 + (lo - want);
      if (addr + ps > len || !this.knownZero(block, addr / ps)) break;
      if (received) setPage(received, addr / ps);
    }
    if (at === 0) return;
    r.skip(at);
    this.stats.zeroPages += at / 9;
  }

  /**
   * An XBZRLE record (QEMU's load_xbzrle): encoding byte, be16 length, the delta. The delta is
   * applied to a copy of the page the stream sent before, and only a delta that decodes whole
   * reaches guest memory.
   */
  private async loadXbzrlePage(
    r: StreamReader,
    block: RamBlock,
    page: number,
    at: number,
  ): Promise<void> {
    const ps = this.pageSize;
    if (r.buffered < 3) await r.ensure(3);
    const encAt = r.offset;
    const enc = r.u8();
    if (enc !== ENCODING_FLAG_XBZRLE) {
      throw new StreamFormatError(
        `Failed to load XBZRLE page - wrong compression! (encoding 0x${enc.toString(16)})`,
        { offset: encAt, section: "ram", path: "xbzrle.encoding" },
      );
    }
    const len = r.be16();
    if (len > ps) {
      throw new StreamFormatError(
        `Failed to load XBZRLE page - len overflow! (${len} bytes, a page is ${ps})`,
        { offset: encAt + 1, section: "ram", path: "xbzrle.length" },
      );
    }
    const addr = page * ps;
    const received = this.received.get(block);
    if (received && !testPage(received, page)) {
      throw new StreamFormatError(
        `XBZRLE delta for page 0x${addr.toString(16)} of ${block.idstr}, which this stream never ` +
          `sent: there is no cached copy to apply it to`,
        { offset: at, section: "ram", path: "xbzrle.page" },
      );
    }
    if (r.buffered < len) await r.ensure(len);
    const dataAt = r.offset;
    const src = r.borrow(len);
    if (this.scratch.length !== ps) this.scratch = new Uint8Array(ps);
    const copy = this.scratch;
    copy.set(block.bytes.subarray(addr, addr + ps));
    const fault = xbzrleDecode(src, copy);
    if (fault) {
      throw new StreamFormatError(
        `Failed to load XBZRLE page at 0x${addr.toString(16)} of ${block.idstr} - decode ` +
          `error: ${fault.reason}`,
        { offset: dataAt + fault.at, section: "ram", path: "xbzrle.data" },
      );
    }
    this.journal.before(block.bytes, page, this.knownZero(block, page));
    block.bytes.set(copy, addr);
    if (block.written) setPage(block.written, page);
    this.stats.xbzrlePages++;
    this.stats.xbzrleBytes += len + 3;
    this.stats.bytes += len;
  }

  /** A ZERO record: QEMU 7.2 fills the page with the byte that follows (0 in practice). */
  private loadZeroPage(block: RamBlock, page: number, fill: number): void {
    const ps = this.pageSize;
    const addr = page * ps;
    const known = this.knownZero(block, page);
    this.stats.zeroPages++;
    // A zero page that is already zero needs neither a write nor a journal entry (the common
    // case: most of a fresh guest's RAM).
    if (fill === 0 && (known || isZeroPage(wordsOf(block.bytes), addr >>> 2, ps >>> 2))) return;
    this.journal.before(block.bytes, page, known);
    block.bytes.fill(fill, addr, addr + ps);
    if (fill !== 0 && block.written) setPage(block.written, page);
  }

  private knownZero(block: RamBlock, page: number): boolean {
    const w = block.written;
    if (!w) return false;
    const bit = 1 << (page & 31);
    const i = page >>> 5;
    return ((w[i] | (block.dirty ? block.dirty[i] : 0)) & bit) === 0;
  }

  private async loadBlockList(r: StreamReader, total: number): Promise<void> {
    const blocks = this.loadBlocks;
    const local = blocks.reduce((s, b) => s + b.bytes.length, 0);
    if (total !== local) {
      throw new UnknownEntityError(
        `RAM size in the stream is 0x${total.toString(16)} bytes but this machine has 0x${
          local.toString(16)
        }`,
        { offset: r.offset - 8 },
      );
    }
    let left = total;
    const seen = new Set<string>();
    while (left > 0) {
      const at = r.offset;
      await r.ensure(1);
      await r.ensure(1 + r.peekU8(0)! + 8);
      const name = r.str8();
      r.be64Parts(this.hdr);
      const len = this.hdr[0] * 2 ** 32 + this.hdr[1];
      if (seen.has(name)) {
        throw new StreamFormatError(`RAM block "${name}" is listed twice`, { offset: at });
      }
      seen.add(name);
      const b = blocks.find((x) => x.idstr === name);
      if (!b) {
        throw new UnknownEntityError(`Unknown ramblock "${name}", cannot accept migration`, {
          offset: at,
        });
      }
      if (len !== b.bytes.length) {
        throw new UnknownEntityError(
          `Length mismatch: ${name}: 0x${len.toString(16)} in the stream, 0x${
            b.bytes.length.toString(16)
          } here`,
          { offset: at },
        );
      }
      if (len > left) {
        throw new StreamFormatError(`RAM block list exceeds the announced total`, { offset: at });
      }
      left -= len;
    }
  }

  /** The loaded pages stay; the journal is dropped and each block hears which pages changed. */
  commit(): void {
    for (const b of this.loadBlocks) {
      const changed = this.journal.changedPages(b.bytes);
      if (changed) b.onLoaded?.(changed);
    }
    this.journal.clear();
    this.loadCurrent = undefined;
  }

  /** Restore every page the failed load had overwritten. */
  abort(): void {
    this.journal.restore();
    this.loadCurrent = undefined;
  }
}
