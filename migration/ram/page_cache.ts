/**
 * QEMU's XBZRLE page cache (migration/page_cache.c): a direct-mapped cache of the page contents
 * last sent, one slot per `page & (slots - 1)`, each tagged with its page and the dirty-sync
 * "age" it was last used at. A fresh slot (used within the last two syncs) is not evicted by
 * another page. Slots a RAM of `ramPages` can never reach are not allocated, so a 64 MiB cache
 * over a 16 MiB guest costs 16 MiB, with the same hits and misses as QEMU's.
 * @module
 */

/** QEMU's CACHED_PAGE_LIFETIME: a slot used this recently is not replaced by another page. */
const CACHED_PAGE_LIFETIME = 2;

/** Why a cache size is refused (QEMU's migrate_params_check / cache_init wording). */
export function pageCacheSizeProblem(bytes: number, pageSize: number): string | undefined {
  if (!Number.isSafeInteger(bytes) || bytes < pageSize) {
    return `${bytes} is smaller than one target page (${pageSize} bytes)`;
  }
  if (!Number.isInteger(Math.log2(bytes))) return `${bytes} is not a power of two`;
  return undefined;
}

/** The cache of a save under way. */
export class PageCache {
  /** Slots the cache has (QEMU's max_num_items). */
  readonly slots: number;
  private readonly mask: number;
  private readonly tags: Float64Array;
  private readonly ages: Float64Array;
  private readonly data: Uint8Array;
  /** Slots holding a page (QEMU's num_items). */
  items = 0;

  /**
   * @param bytes cache size (a power of two, at least one page)
   * @param pageSize target page size
   * @param ramPages pages of RAM the cache serves (page numbers are below it)
   */
  constructor(bytes: number, readonly pageSize: number, ramPages: number) {
    const problem = pageCacheSizeProblem(bytes, pageSize);
    if (problem) throw new RangeError(`xbzrle-cache-size: ${problem}`);
    this.slots = Math.floor(bytes / pageSize);
    this.mask = this.slots - 1;
    const reachable = Math.min(this.slots, 2 ** Math.ceil(Math.log2(Math.max(1, ramPages))));
    this.tags = new Float64Array(reachable).fill(-1);
    this.ages = new Float64Array(reachable);
    this.data = new Uint8Array(reachable * pageSize);
  }

  /** QEMU's cache_is_cached: whether `page` is in its slot; a hit refreshes the slot's age. */
  isCached(page: number, age: number): boolean {
    const s = page & this.mask;
    if (this.tags[s] !== page) return false;
    this.ages[s] = age;
    return true;
  }

  /** The cached bytes of `page` (valid after a hit or a successful insert). */
  get(page: number): Uint8Array {
    const s = (page & this.mask) * this.pageSize;
    return this.data.subarray(s, s + this.pageSize);
  }

  /**
   * QEMU's cache_insert: store `bytes` for `page`; false when the slot holds another page that
   * is still fresh.
   */
  insert(page: number, bytes: Uint8Array, age: number): boolean {
    const s = page & this.mask;
    const tag = this.tags[s];
    if (tag !== -1 && tag !== page && this.ages[s] + CACHED_PAGE_LIFETIME > age) return false;
    if (tag === -1) this.items++;
    this.data.set(bytes, s * this.pageSize);
    this.tags[s] = page;
    this.ages[s] = age;
    return true;
  }

  /** QEMU's xbzrle_cache_zero_page: the page was sent as zeros; a stale copy must not stay. */
  insertZero(page: number, age: number): void {
    const s = page & this.mask;
    const tag = this.tags[s];
    if (tag !== -1 && tag !== page && this.ages[s] + CACHED_PAGE_LIFETIME > age) return;
    if (tag === -1) this.items++;
    this.data.fill(0, s * this.pageSize, (s + 1) * this.pageSize);
    this.tags[s] = page;
    this.ages[s] = age;
  }
}
