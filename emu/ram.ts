/**
 * Guest RAM: one ArrayBuffer with typed views for aligned fast paths, a
 * per-page dirty bitmap for live migration, and the (non-migrated) decode
 * cache that the CPU keeps per RAM word.
 *
 * @module
 */

import { BusError, ConfigError } from "./errors.ts";

/** Guest physical address where RAM starts (QEMU `virt` puts DRAM here). */
export const RAM_BASE = 0x8000_0000;
/** Default RAM size: 128 MiB, as QEMU `virt` uses by default. */
export const RAM_DEFAULT_SIZE = 128 * 1024 * 1024;
/** Largest guest RAM a machine can have (2 GiB: the RV32 physical window above RAM_BASE). */
export const RAM_MAX_SIZE = 0x8000_0000;
/** Dirty-tracking granularity: log2 of the 4 KiB target page size. */
export const PAGE_SHIFT = 12;
/** Dirty-tracking granularity in bytes (4 KiB, QEMU's TARGET_PAGE_SIZE on RISC-V). */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/**
 * A CPU access reached a RAM page that a postcopy destination has not received yet: the
 * instruction did not execute (its pc stays), and the vCPU waits until the page arrives.
 */
export class PageAbsentError extends Error {
  /** Page index from the start of RAM. */
  readonly page: number;
  constructor(page: number) {
    super(`RAM page ${page} has not arrived yet (postcopy)`);
    this.name = "PageAbsentError";
    this.page = page;
  }
}

/** Byte-addressed guest RAM; the CPU reaches into the views directly on its hot paths. */
export class Ram {
  /** Guest physical base address. */
  readonly base: number;
  /** Size in bytes (a multiple of 4 KiB). */
  readonly size: number;
  /** Backing store of the guest memory. */
  readonly buffer: ArrayBuffer;
  /** Byte view of the whole RAM. */
  readonly u8: Uint8Array;
  /** Halfword view (little-endian hosts only, checked at construction). */
  readonly u16: Uint16Array;
  /** Word view, unsigned. */
  readonly u32: Uint32Array;
  /** Word view, signed: the CPU's registers are Int32, so loads use this one. */
  readonly i32: Int32Array;
  /** Signed byte view (LB). */
  readonly i8: Int8Array;
  /** Signed halfword view (LH). */
  readonly i16: Int16Array;
  /**
   * Dirty bitmap: bit `p & 31` of word `p >>> 5` is set when page `p`
   * (offset `p << 12`) was written since the last {@link Ram.syncDirty}.
   */
  readonly dirty: Uint32Array;
  /**
   * Pages that may hold non-zero bytes apart from those set in {@link Ram.dirty}: dirty bits are
   * folded in here whenever the dirty bitmap is synced or cleared, and a migration load marks the
   * pages it fills. A page set in neither bitmap is still all zeros, so savers skip scanning it.
   * Every write must therefore go through a store path, {@link Ram.write} or {@link Ram.touch}
   * (which the decode cache requires anyway).
   */
  readonly written: Uint32Array;
  /**
   * Decoded-op cache, one byte per RAM word (0 = not decoded). Derived data:
   * never migrated, cleared by every store so self-modifying code is exact.
   */
  readonly decoded: Uint8Array;
  /**
   * Postcopy destination only: pages not received yet (bit set = absent), else null. While set,
   * the MMU sends every RAM access through the TLB, whose entries cover present pages only, and
   * the bus calls {@link Ram.requirePresent} on the rest.
   */
  absent: Uint32Array | null = null;
  private absentLeft = 0;

  /** Allocates `size` bytes of zeroed RAM at `base`. */
  constructor(size: number = RAM_DEFAULT_SIZE, base: number = RAM_BASE) {
    if (
      !Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > RAM_MAX_SIZE
    ) {
      throw new ConfigError(`RAM size must be a positive multiple of 4096 up to 2 GiB: ${size}`);
    }
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      throw new ConfigError("Host must be little-endian");
    }
    this.base = base >>> 0;
    this.size = size;
    this.buffer = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.i8 = new Int8Array(this.buffer);
    this.i16 = new Int16Array(this.buffer);
    const pages = size >>> PAGE_SHIFT;
    this.dirty = new Uint32Array((pages + 31) >>> 5);
    this.written = new Uint32Array((pages + 31) >>> 5);
    this.decoded = new Uint8Array(size >>> 2);
  }

  /**
   * Map every page now instead of at its first write (QEMU's -mem-prealloc): a destination that
   * does this before a migration stream arrives does not pay the kernel's first-touch cost (about
   * 1.4 µs per page on the reference VM) while loading. Contents, dirty and written bits stay as
   * they are.
   */
  prefault(): void {
    const words = this.i32;
    const step = PAGE_SIZE >>> 2;
    for (let i = 0; i < words.length; i += step) words[i] |= 0;
  }

  /** Mark the pages set in `bitmap` absent (postcopy: not received yet); an empty one clears. */
  markAbsent(bitmap: Uint32Array): void {
    let n = 0;
    for (let i = 0; i < bitmap.length; i++) {
      let b = bitmap[i];
      while (b !== 0) {
        b &= b - 1;
        n++;
      }
    }
    this.absentLeft = n;
    this.absent = n === 0 ? null : bitmap.slice();
  }

  /** A postcopy page arrived; when the last one does, RAM is plain RAM again. */
  markPresent(page: number): void {
    const a = this.absent;
    if (a === null) return;
    const bit = 1 << (page & 31);
    if ((a[page >>> 5] & bit) === 0) return;
    a[page >>> 5] &= ~bit;
    if (--this.absentLeft === 0) this.absent = null;
  }

  /** Pages still absent (0 outside a postcopy load). */
  get absentPages(): number {
    return this.absent === null ? 0 : this.absentLeft;
  }

  /** True unless the page holding byte offset `off` is absent. */
  isPresent(off: number): boolean {
    const a = this.absent;
    if (a === null) return true;
    const p = off >>> PAGE_SHIFT;
    return (a[p >>> 5] & (1 << (p & 31))) === 0;
  }

  /**
   * The postcopy fault hook: throws {@link PageAbsentError} when `[off, off+len)` touches a page
   * not received yet. The bus calls it on RAM accesses that missed the TLB (only while pages are
   * absent), before anything is read or written.
   */
  requirePresent(off: number, len: number): void {
    if (!this.isPresent(off)) throw new PageAbsentError(off >>> PAGE_SHIFT);
    const last = off + len - 1;
    if (!this.isPresent(last)) throw new PageAbsentError(last >>> PAGE_SHIFT);
  }

  /** Number of 4 KiB pages, i.e. valid bits in {@link Ram.dirty}. */
  get pageCount(): number {
    return this.size >>> PAGE_SHIFT;
  }

  /** True if `[addr, addr+len)` lies entirely inside RAM. */
  contains(addr: number, len = 1): boolean {
    const off = (addr - this.base) >>> 0;
    return off < this.size && len <= this.size - off;
  }

  /**
   * Told of every write through {@link Ram.touch} (slow CPU stores, DMA) while the CPU translates
   * code, so translated blocks over those bytes are dropped; null otherwise.
   */
  codeWatch: ((off: number, len: number) => void) | null = null;

  /** Marks pages `[off, off+len)` dirty and drops decoded ops there; the slow store paths call it. */
  touch(off: number, len: number): void {
    if (len <= 0) return;
    if (this.codeWatch !== null) this.codeWatch(off, len);
    const end = off + len;
    for (let p = off >>> PAGE_SHIFT; p <= (end - 1) >>> PAGE_SHIFT; p++) {
      this.dirty[p >>> 5] |= 1 << (p & 31);
    }
    this.decoded.fill(0, off >>> 2, (end + 3) >>> 2);
  }

  /** DMA-style write of bytes at guest physical `addr` (marks dirty, keeps the decode cache exact). */
  write(addr: number, bytes: Uint8Array): void {
    const off = this.offsetOf(addr, bytes.length, true);
    this.u8.set(bytes, off);
    this.touch(off, bytes.length);
  }

  /** DMA-style read of `len` bytes at guest physical `addr` (a copy). */
  read(addr: number, len: number): Uint8Array {
    const off = this.offsetOf(addr, len);
    return this.u8.slice(off, off + len);
  }

  /** Returns the dirty bitmap accumulated so far and clears it (migration's "sync"). */
  syncDirty(): Uint32Array {
    const copy = this.dirty.slice();
    this.clearDirty();
    return copy;
  }

  /** Clears the dirty bitmap without reading it (migration start); `written` keeps its bits. */
  clearDirty(): void {
    const d = this.dirty, w = this.written;
    for (let i = 0; i < d.length; i++) w[i] |= d[i];
    d.fill(0);
  }

  /** Marks every page dirty (first pass of a live migration sends everything). */
  markAllDirty(): void {
    this.dirty.fill(0xffff_ffff);
    const tail = this.pageCount & 31;
    if (tail !== 0) this.dirty[this.dirty.length - 1] = (1 << tail) - 1;
  }

  /** True if page `page` (index from the start of RAM) is dirty. */
  isDirty(page: number): boolean {
    return (this.dirty[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /** Page indexes whose dirty bit is set, in ascending order. */
  *dirtyPages(bitmap: Uint32Array = this.dirty): Generator<number> {
    for (let w = 0; w < bitmap.length; w++) {
      let bits = bitmap[w];
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        yield (w << 5) + b;
        bits &= bits - 1;
      }
    }
  }

  /** Drops the whole decode cache (after restoring RAM behind the CPU's back). */
  invalidateDecodeCache(): void {
    this.decoded.fill(0);
  }

  private offsetOf(addr: number, len: number, isWrite = false): number {
    if (!this.contains(addr, len)) {
      throw new BusError(
        addr,
        isWrite,
        `RAM access out of range: 0x${(addr >>> 0).toString(16)} + ${len} bytes`,
      );
    }
    return (addr - this.base) >>> 0;
  }
}
