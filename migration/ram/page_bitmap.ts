/**
 * One-bit-per-page bitmaps as the RAM section uses them (bit `p & 31` of word `p >>> 5` is page
 * `p`, the layout of the emulator's dirty bitmap), with the few word-wise operations migration
 * needs: fill, fold, count, iterate.
 * @module
 */

/** Number of 32-bit words a bitmap of `pages` bits needs. */
export function bitmapWords(pages: number): number {
  return (pages + 31) >>> 5;
}

/** A cleared bitmap for `pages` pages. */
export function newBitmap(pages: number): Uint32Array {
  return new Uint32Array(bitmapWords(pages));
}

/** Set the bits of pages `0..pages-1` (and no bit past the end, so counts stay exact). */
export function setAllPages(bitmap: Uint32Array, pages: number): void {
  const full = pages >>> 5;
  bitmap.fill(0xffff_ffff, 0, full);
  bitmap.fill(0, full);
  const tail = pages & 31;
  if (tail !== 0) bitmap[full] = ((1 << tail) - 1) >>> 0;
}

/** Number of set bits in one word. */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x5555_5555);
  v = (v & 0x3333_3333) + ((v >>> 2) & 0x3333_3333);
  return (((v + (v >>> 4)) & 0x0f0f_0f0f) * 0x0101_0101) >>> 24;
}

/** Number of set bits in a bitmap. */
export function countPages(bitmap: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < bitmap.length; i++) if (bitmap[i] !== 0) n += popcount32(bitmap[i]);
  return n;
}

/** `into |= from`, word by word; returns how many bits `from` had set. */
export function foldInto(into: Uint32Array, from: Uint32Array): number {
  let n = 0;
  const len = Math.min(into.length, from.length);
  for (let i = 0; i < len; i++) {
    const v = from[i];
    if (v !== 0) {
      into[i] |= v;
      n += popcount32(v);
    }
  }
  return n;
}

/** True when page `p` is set. */
export function testPage(bitmap: Uint32Array, p: number): boolean {
  return (bitmap[p >>> 5] & (1 << (p & 31))) !== 0;
}

/** Set page `p`. */
export function setPage(bitmap: Uint32Array, p: number): void {
  bitmap[p >>> 5] |= 1 << (p & 31);
}

/** Call `fn` for every set page in ascending order. */
export function forEachPage(bitmap: Uint32Array, fn: (page: number) => void): void {
  for (let w = 0; w < bitmap.length; w++) {
    let bits = bitmap[w];
    while (bits !== 0) {
      const low = bits & -bits;
      fn((w << 5) + 31 - Math.clz32(low));
      bits ^= low;
    }
  }
}
