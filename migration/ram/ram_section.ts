/**
 * QEMU's iterative `ram` section (version 4, migration/ram.c as of 7.2): the block list in the
 * START chunk, then ZERO and PAGE records with CONTINUE, each chunk closed by EOS. Loading checks
 * every record before touching guest memory and keeps an undo journal, so a stream rejected
 * later leaves RAM exactly as it was.
 * @module
 */
import { StreamFormatError, UnknownEntityError, VersionMismatchError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import type { IterativeHandlers } from "../sections/registry.ts";

/** RAM_SAVE_FLAG_* bits in the low bits of a record's be64 header. */
export const RamFlag = {
  FULL: 0x001,
  ZERO: 0x002,
  MEM_SIZE: 0x004,
  PAGE: 0x008,
  EOS: 0x010,
  CONTINUE: 0x020,
  XBZRLE: 0x040,
  HOOK: 0x080,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** One migratable RAM region as the section sees it. */
export interface RamBlock {
  /** Block idstr on the wire (e.g. "riscv_virt_board.ram"). */
  readonly idstr: string;
  /** The block's bytes (used_length = its length). */
  readonly bytes: Uint8Array;
  /** Pages written since the last sync (one bit per page), for live migration rounds. */
  readonly dirty?: Uint32Array;
}

/** Counters of the last save or load. */
export interface RamStats {
  /** Pages sent or received as ZERO records. */
  zeroPages: number;
  /** Pages sent or received as PAGE records. */
  normalPages: number;
  /** Bytes of page payload moved. */
  bytes: number;
}

/** The version of the ram section QEMU 7.2 writes and accepts. */
export const RAM_SECTION_VERSION = 4;

function isZeroPage(words: Int32Array, first: number, count: number): boolean {
  for (let i = first, end = first + count; i < end; i++) if (words[i] !== 0) return false;
  return true;
}

/** Save/load handlers for the `ram` section over a fixed list of blocks. */
export class RamSection implements IterativeHandlers {
  /** Counters of the most recent operation. */
  stats: RamStats = { zeroPages: 0, normalPages: 0, bytes: 0 };
  private journal = new Map<RamBlock, Map<number, Uint8Array>>();
  private current: RamBlock | undefined;
  private sawMemSize = false;
  private readonly hdr = new Uint32Array(2);

  /**
   * @param blocks the machine's RAM blocks, in stream order
   * @param pageSize target page size (4096 on RISC-V)
   * @param journaled keep an undo journal during load (off when loading into a fresh machine)
   */
  constructor(
    private readonly blocks: () => readonly RamBlock[],
    readonly pageSize = 4096,
    private readonly journaled = true,
  ) {}

  /** START payload: total size with MEM_SIZE, each block's idstr and length, EOS. */
  saveSetup(w: StreamWriter): void {
    const blocks = this.blocks();
    const total = blocks.reduce((s, b) => s + b.bytes.length, 0);
    w.be64Parts(Math.floor(total / 2 ** 32), (total >>> 0) | RamFlag.MEM_SIZE);
    for (const b of blocks) {
      w.str8(b.idstr);
      w.be64Parts(Math.floor(b.bytes.length / 2 ** 32), b.bytes.length >>> 0);
    }
    w.be64Parts(0, RamFlag.EOS);
    this.current = undefined;
    this.stats = { zeroPages: 0, normalPages: 0, bytes: 0 };
  }

  /** END payload for a stop-and-copy save: every page of every block, then EOS. */
  async saveComplete(w: StreamWriter): Promise<void> {
    for (const b of this.blocks()) await this.savePages(w, b, null);
    w.be64Parts(0, RamFlag.EOS);
  }

  /** Write the pages of `block` (all, or those set in `only`), flushing as the buffer fills. */
  async savePages(w: StreamWriter, block: RamBlock, only: Uint32Array | null): Promise<void> {
    const ps = this.pageSize;
    const words = new Int32Array(
      block.bytes.buffer,
      block.bytes.byteOffset,
      block.bytes.length >>> 2,
    );
    const pages = Math.floor(block.bytes.length / ps);
    const wordsPerPage = ps >>> 2;
    for (let p = 0; p < pages; p++) {
      if (only && !(only[p >>> 5] & (1 << (p & 31)))) continue;
      const off = p * ps;
      const zero = isZeroPage(words, p * wordsPerPage, wordsPerPage);
      const cont = this.current === block ? RamFlag.CONTINUE : 0;
      w.be64Parts(
        Math.floor(off / 2 ** 32),
        (off >>> 0) | (zero ? RamFlag.ZERO : RamFlag.PAGE) | cont,
      );
      if (!cont) {
        w.str8(block.idstr);
        this.current = block;
      }
      if (zero) {
        w.u8(0);
        this.stats.zeroPages++;
      } else {
        w.bytes(block.bytes.subarray(off, off + ps));
        this.stats.normalPages++;
        this.stats.bytes += ps;
      }
      if (w.pending >= w.flushThreshold) await w.flush();
    }
  }

  /** Load one chunk: the block list (START) and page records up to EOS. */
  async load(r: StreamReader, version: number, phase: "start" | "part" | "end"): Promise<void> {
    if (version !== RAM_SECTION_VERSION) {
      throw new VersionMismatchError("ram", version, RAM_SECTION_VERSION, RAM_SECTION_VERSION, {
        offset: r.offset,
      });
    }
    if (phase === "start") {
      this.current = undefined;
      this.sawMemSize = false;
      this.stats = { zeroPages: 0, normalPages: 0, bytes: 0 };
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
            {
              offset: at,
            },
          );
        }
        this.sawMemSize = true;
        await this.loadBlockList(r, addr);
        continue;
      }
      if (flags === RamFlag.EOS) return;
      if (flags === RamFlag.MULTIFD_FLUSH) continue;
      const kind = flags & ~RamFlag.CONTINUE;
      if (kind !== RamFlag.ZERO && kind !== RamFlag.PAGE) {
        throw new StreamFormatError(
          `Unknown combination of migration flags: 0x${flags.toString(16)}`,
          {
            offset: at,
          },
        );
      }
      if (!this.sawMemSize) {
        throw new StreamFormatError("RAM page before the block list", { offset: at });
      }
      let block = this.current;
      if (flags & RamFlag.CONTINUE) {
        if (!block) {
          throw new StreamFormatError("Ack, bad migration stream! (CONTINUE with no block)", {
            offset: at,
          });
        }
      } else {
        if (r.buffered < 1) await r.ensure(1);
        const nameLen = 1 + r.peekU8(0)!;
        if (r.buffered < nameLen) await r.ensure(nameLen);
        const name = r.str8();
        block = this.blocks().find((b) => b.idstr === name);
        if (!block) throw new UnknownEntityError(`Can't find block ${name}`, { offset: at });
        this.current = block;
      }
      if (addr + ps > block.bytes.length || addr % ps !== 0) {
        throw new StreamFormatError(
          `Illegal RAM offset 0x${addr.toString(16)} in block ${block.idstr} of 0x${
            block.bytes.length.toString(16)
          } bytes`,
          { offset: at },
        );
      }
      if (kind === RamFlag.ZERO) {
        if (r.buffered < 1) await r.ensure(1);
        const fill = r.u8();
        // A zero page that is already zero needs neither a write nor a journal entry (the
        // common case: most of a fresh guest's RAM).
        if (fill !== 0 || !isZeroPage(this.words(block), addr >>> 2, ps >>> 2)) {
          this.touch(block, addr);
          block.bytes.fill(fill, addr, addr + ps);
        }
        this.stats.zeroPages++;
      } else {
        if (r.buffered < ps) await r.ensure(ps);
        const src = r.borrow(ps);
        this.touch(block, addr);
        block.bytes.set(src, addr);
        this.stats.normalPages++;
        this.stats.bytes += ps;
      }
    }
  }

  private async loadBlockList(r: StreamReader, total: number): Promise<void> {
    const blocks = this.blocks();
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
    while (left > 0) {
      const at = r.offset;
      await r.ensure(1);
      await r.ensure(1 + r.peekU8(0)! + 8);
      const name = r.str8();
      r.be64Parts(this.hdr);
      const len = this.hdr[0] * 2 ** 32 + this.hdr[1];
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

  private wordViews = new WeakMap<Uint8Array, Int32Array>();

  private words(block: RamBlock): Int32Array {
    let v = this.wordViews.get(block.bytes);
    if (!v) {
      v = new Int32Array(block.bytes.buffer, block.bytes.byteOffset, block.bytes.length >>> 2);
      this.wordViews.set(block.bytes, v);
    }
    return v;
  }

  private touch(block: RamBlock, addr: number): void {
    if (!this.journaled) return;
    let j = this.journal.get(block);
    if (!j) {
      j = new Map();
      this.journal.set(block, j);
    }
    if (!j.has(addr)) j.set(addr, block.bytes.slice(addr, addr + this.pageSize));
  }

  /** The loaded pages stay; the journal is dropped. */
  commit(): void {
    this.journal.clear();
    this.current = undefined;
  }

  /** Restore every page the failed load had overwritten. */
  abort(): void {
    for (const [block, pages] of this.journal) {
      for (const [addr, old] of pages) block.bytes.set(old, addr);
    }
    this.journal.clear();
    this.current = undefined;
  }
}
