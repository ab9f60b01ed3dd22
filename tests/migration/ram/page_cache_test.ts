import { ok, strictEqual, throws } from "node:assert/strict";
import { PageCache, pageCacheSizeProblem } from "../../../migration/ram/page_cache.ts";

const PS = 4096;

Deno.test("PageCache is direct-mapped: a fresh slot keeps its page, a stale one is replaced", () => {
  const c = new PageCache(4 * PS, PS, 64);
  strictEqual(c.slots, 4);
  const a = new Uint8Array(PS).fill(1);
  const b = new Uint8Array(PS).fill(2);
  ok(c.insert(1, a, 1));
  ok(c.isCached(1, 1));
  strictEqual(c.get(1)[0], 1);
  ok(!c.isCached(5, 1), "page 5 maps to page 1's slot but is another page");
  ok(!c.insert(5, b, 2), "the slot was used within CACHED_PAGE_LIFETIME syncs");
  ok(c.insert(5, b, 3), "now it is stale");
  ok(!c.isCached(1, 3));
  strictEqual(c.get(5)[0], 2);
  c.insertZero(5, 3);
  strictEqual(c.get(5)[0], 0);
  strictEqual(c.items, 1);
});

Deno.test("PageCache sizes: QEMU's checks, and only the reachable slots are allocated", () => {
  strictEqual(pageCacheSizeProblem(64 << 20, PS), undefined);
  ok(/smaller than one target page/.test(pageCacheSizeProblem(100, PS)!));
  ok(/not a power of two/.test(pageCacheSizeProblem(3 * PS, PS)!));
  throws(() => new PageCache(3 * PS, PS, 8), RangeError);
  const big = new PageCache(64 << 20, PS, 4096); // 16 MiB of RAM
  strictEqual(big.slots, 16384);
  ok(big.insert(4095, new Uint8Array(PS).fill(9), 1));
  ok(big.isCached(4095, 1));
});
