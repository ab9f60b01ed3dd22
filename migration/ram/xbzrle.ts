/**
 * QEMU's XBZRLE page delta (migration/xbzrle.c): a page is encoded against the copy the other
 * side already has as alternating runs, `zrun nzrun [zrun nzrun]...`, each length a ULEB128 of at
 * most two bytes (14 bits) and each nzrun followed by its new bytes. A trailing zero run is left
 * out; a page equal to its base encodes to nothing. The encoder gives up (overflow) when the
 * delta would not fit the output, and the caller then sends a normal page, as QEMU does.
 * @module
 */

/** The only XBZRLE encoding byte QEMU 7.2 writes and accepts (ENCODING_FLAG_XBZRLE). */
export const ENCODING_FLAG_XBZRLE = 0x1;

/** Bytes of an XBZRLE record's header after the page header: encoding byte and be16 length. */
export const XBZRLE_HEADER_BYTES = 3;

/** Why an encoded delta could not be applied, and where in it (offset into the delta bytes). */
export interface XbzrleFault {
  /** What is wrong, in words. */
  reason: string;
  /** Offset into the encoded bytes where the bad run starts. */
  at: number;
}

/** QEMU's uleb128_encode_small: `n` < 2^14 in one or two bytes; returns the bytes written. */
function ulebPut(dst: Uint8Array, d: number, n: number): number {
  if (n < 0x80) {
    dst[d] = n;
    return 1;
  }
  dst[d] = (n & 0x7f) | 0x80;
  dst[d + 1] = n >>> 7;
  return 2;
}

/**
 * Encode `cur` against `old` (equal lengths) into `dst`, as xbzrle_encode_buffer does with
 * dlen = dst.length: the encoded length, 0 when the pages are equal, -1 on overflow.
 */
export function xbzrleEncode(old: Uint8Array, cur: Uint8Array, dst: Uint8Array): number {
  const slen = cur.length;
  const dlen = dst.length;
  let d = 0;
  let i = 0;
  while (i < slen) {
    if (d + 2 > dlen) return -1;
    const zStart = i;
    while (i < slen && old[i] === cur[i]) i++;
    const zrun = i - zStart;
    if (zrun === slen) return 0;
    if (i === slen) return d; // the last zero run is not sent
    d += ulebPut(dst, d, zrun);
    if (d + 2 > dlen) return -1;
    const nzStart = i;
    while (i < slen && old[i] !== cur[i]) i++;
    const nzrun = i - nzStart;
    d += ulebPut(dst, d, nzrun);
    if (d + nzrun > dlen) return -1;
    dst.set(cur.subarray(nzStart, i), d);
    d += nzrun;
  }
  return d;
}

/**
 * Apply an encoded delta to `page` in place, with xbzrle_decode_buffer's checks (a run past the
 * page, a length that does not fit, an empty run where none may be). Returns null when it
 * applied, or the fault; on a fault `page` may be partly changed, so callers decode a copy.
 */
export function xbzrleDecode(src: Uint8Array, page: Uint8Array): XbzrleFault | null {
  const slen = src.length;
  const dlen = page.length;
  let i = 0;
  let d = 0;
  while (i < slen) {
    if (slen - i < 2) return { reason: "the delta ends inside a zero run", at: i };
    const zAt = i;
    let count = src[i];
    if (count & 0x80) {
      if (src[i + 1] & 0x80) return { reason: "a zero-run length over 14 bits", at: zAt };
      count = (count & 0x7f) | (src[i + 1] << 7);
      i += 2;
    } else i += 1;
    if (zAt !== 0 && count === 0) return { reason: "an empty zero run after the first", at: zAt };
    d += count;
    if (d > dlen) {
      return { reason: `a zero run of ${count} bytes runs past the ${dlen}-byte page`, at: zAt };
    }
    if (slen - i < 2) return { reason: "the delta ends inside a data run", at: i };
    const nAt = i;
    count = src[i];
    if (count & 0x80) {
      if (src[i + 1] & 0x80) return { reason: "a data-run length over 14 bits", at: nAt };
      count = (count & 0x7f) | (src[i + 1] << 7);
      i += 2;
    } else i += 1;
    if (count === 0) return { reason: "an empty data run", at: nAt };
    if (d + count > dlen) {
      return { reason: `a data run of ${count} bytes runs past the ${dlen}-byte page`, at: nAt };
    }
    if (i + count > slen) {
      return { reason: `a data run of ${count} bytes runs past the end of the delta`, at: nAt };
    }
    page.set(src.subarray(i, i + count), d);
    d += count;
    i += count;
  }
  return null;
}
