/**
 * The undo journal of a RAM load: which pages the load changed, and what they held before. A page
 * known to be all zeros costs one bit (abort zeroes it again); only pages that may have held data
 * are copied, into a few large arenas rather than one allocation per page. So loading into a
 * fresh machine journals nothing but bits, and only a load into a live machine pays for copies.
 * @module
 */
import { forEachPage, newBitmap, setPage, testPage } from "./page_bitmap.ts";

/** Pages per arena chunk (1 MiB of 4 KiB pages). */
const PAGES_PER_CHUNK = 256;

interface BlockJournal {
  readonly bytes: Uint8Array;
  /** Every page the load wrote. */
  readonly changed: Uint32Array;
  /** Arena slot of each copied page, -1 when the page was zero before (allocated on first copy). */
  slots: Int32Array | null;
}

/** Remembers the previous content of every page a load overwrites, so a failed load can undo. */
export class RamUndoJournal {
  private readonly blocks = new Map<Uint8Array, BlockJournal>();
  private readonly chunks: Uint8Array[] = [];
  private used = 0;

  /** @param pageSize target page size */
  constructor(readonly pageSize: number) {}

  /** Pages saved by copy so far (tests and the memory budget). */
  get copiedPages(): number {
    return this.used;
  }

  /** Call before overwriting page `page` of `bytes`; `knownZero` says it holds only zeros. */
  before(bytes: Uint8Array, page: number, knownZero: boolean): void {
    let j = this.blocks.get(bytes);
    if (!j) {
      j = { bytes, changed: newBitmap(Math.floor(bytes.length / this.pageSize)), slots: null };
      this.blocks.set(bytes, j);
    }
    if (testPage(j.changed, page)) return;
    setPage(j.changed, page);
    if (knownZero) return;
    if (!j.slots) j.slots = new Int32Array(j.changed.length << 5).fill(-1);
    const slot = this.used++;
    const chunk = slot / PAGES_PER_CHUNK | 0;
    if (chunk === this.chunks.length) {
      this.chunks.push(new Uint8Array(PAGES_PER_CHUNK * this.pageSize));
    }
    const at = (slot % PAGES_PER_CHUNK) * this.pageSize;
    const from = page * this.pageSize;
    this.chunks[chunk].set(bytes.subarray(from, from + this.pageSize), at);
    j.slots[page] = slot;
  }

  /** The pages changed in `bytes` (a bitmap), or undefined when none were. */
  changedPages(bytes: Uint8Array): Uint32Array | undefined {
    return this.blocks.get(bytes)?.changed;
  }

  /** Put back every page the load overwrote, then forget everything. */
  restore(): void {
    const ps = this.pageSize;
    for (const j of this.blocks.values()) {
      forEachPage(j.changed, (page) => {
        const slot = j.slots ? j.slots[page] : -1;
        const at = page * ps;
        if (slot < 0) {
          j.bytes.fill(0, at, at + ps);
        } else {
          const chunk = this.chunks[slot / PAGES_PER_CHUNK | 0];
          const from = (slot % PAGES_PER_CHUNK) * ps;
          j.bytes.set(chunk.subarray(from, from + ps), at);
        }
      });
    }
    this.clear();
  }

  /** Forget everything (the load was accepted). */
  clear(): void {
    this.blocks.clear();
    this.chunks.length = 0;
    this.used = 0;
  }
}
