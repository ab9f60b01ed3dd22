/** Page bitmaps: exact tails, counts, folds and ascending iteration, checked against a model. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  bitmapWords,
  countPages,
  foldInto,
  forEachPage,
  newBitmap,
  popcount32,
  setAllPages,
  setPage,
  testPage,
} from "../../../migration/ram/page_bitmap.ts";

Deno.test("setAllPages() sets exactly the pages that exist, also over an old bitmap", () => {
  for (const pages of [1, 31, 32, 33, 64, 100]) {
    const bm = new Uint32Array(bitmapWords(pages) + 1).fill(0xffff_ffff);
    setAllPages(bm, pages);
    strictEqual(countPages(bm), pages, `${pages} pages`);
    strictEqual(testPage(bm, pages - 1), true);
    strictEqual(testPage(bm, pages), false);
  }
});

Deno.test("popcount32() counts bits of any 32-bit word", () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (v) => {
    strictEqual(popcount32(v), v.toString(2).replaceAll("0", "").length);
  }));
});

Deno.test("foldInto(), forEachPage() and setPage() agree with a set of page numbers", () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.nat(199)),
    fc.uniqueArray(fc.nat(199)),
    (a, b) => {
      const x = newBitmap(200), y = newBitmap(200);
      for (const p of a) setPage(x, p);
      for (const p of b) setPage(y, p);
      strictEqual(foldInto(x, y), b.length, "returns the bits of the source");
      const seen: number[] = [];
      forEachPage(x, (p) => seen.push(p));
      deepStrictEqual(seen, [...new Set([...a, ...b])].sort((m, n) => m - n));
      strictEqual(countPages(x), seen.length);
    },
  ));
});
