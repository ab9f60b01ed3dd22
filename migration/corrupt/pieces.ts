/**
 * The corrupted stream as a piece table over the input: a list of input ranges and literal
 * bytes. Every operation is resolved against input offsets, so operations in one recipe never
 * shift each other's targets; one that touches bytes an earlier operation removed or replaced is
 * a conflict. The output is written by copying pieces, which streams big files and costs the
 * fuzzer one copy per case.
 * @module
 */
import type { ByteSource } from "../stream/reader.ts";
import { CorruptOpError } from "./errors.ts";

/** A run of input bytes `[start, end)`, or literal bytes. */
export type Piece =
  | { readonly src: "input"; readonly start: number; readonly end: number }
  | { readonly src: "bytes"; readonly bytes: Uint8Array };

/** The output as pieces; starts as the whole input. */
export class PieceTable {
  private pieces: Piece[];

  constructor(readonly inputSize: number) {
    this.pieces = inputSize > 0 ? [{ src: "input", start: 0, end: inputSize }] : [];
  }

  /** Current pieces, in output order. */
  get list(): readonly Piece[] {
    return this.pieces;
  }

  /** Go back to pieces from an earlier {@link list} (undo a refused operation). */
  restore(pieces: readonly Piece[]): void {
    this.pieces = pieces.slice();
  }

  /** Output length in bytes. */
  get length(): number {
    let n = 0;
    for (const p of this.pieces) n += p.src === "input" ? p.end - p.start : p.bytes.length;
    return n;
  }

  /**
   * Replace input bytes `[start, end)` by `insert` (an insertion when start = end). The input
   * range must still be present and contiguous in the output.
   */
  replace(start: number, end: number, insert: readonly Piece[]): void {
    if (!(start >= 0 && end >= start && end <= this.inputSize)) {
      throw new CorruptOpError(
        "range",
        `byte range ${start}..${end} is outside the input (${this.inputSize} bytes)`,
      );
    }
    const ps = this.pieces;
    let i = ps.findIndex((p) => p.src === "input" && p.start <= start && start < p.end);
    if (i < 0 && start === end) {
      i = ps.findIndex((p) => p.src === "input" && p.end === start);
      if (i >= 0) {
        ps.splice(i + 1, 0, ...insert.filter(nonEmpty));
        return;
      }
    }
    if (i < 0) throw conflict(start, end);
    // Walk the pieces covering [start, end): they must be input pieces, back to back.
    let j = i;
    let covered = (ps[i] as { end: number }).end;
    while (covered < end) {
      const next = ps[j + 1];
      if (!next || next.src !== "input" || next.start !== covered) throw conflict(start, end);
      j++;
      covered = next.end;
    }
    const first = ps[i] as { start: number };
    const last = ps[j] as { end: number };
    const out: Piece[] = [];
    if (first.start < start) out.push({ src: "input", start: first.start, end: start });
    out.push(...insert.filter(nonEmpty));
    if (end < last.end) out.push({ src: "input", start: end, end: last.end });
    ps.splice(i, j - i + 1, ...out);
  }

  /** Keep only the first `length` output bytes. */
  truncate(length: number): void {
    if (!(length >= 0) || length > this.length) {
      throw new CorruptOpError("range", `cannot truncate ${this.length} bytes to ${length}`);
    }
    let left = length;
    const out: Piece[] = [];
    for (const p of this.pieces) {
      if (left === 0) break;
      const n = p.src === "input" ? p.end - p.start : p.bytes.length;
      if (n <= left) out.push(p);
      else if (p.src === "input") out.push({ src: "input", start: p.start, end: p.start + left });
      else out.push({ src: "bytes", bytes: p.bytes.subarray(0, left) });
      left -= Math.min(n, left);
    }
    this.pieces = out;
  }

  /** Assemble the output from an in-memory input into `out` (grown if needed); returns it. */
  assemble(input: Uint8Array, out?: Uint8Array): Uint8Array {
    const n = this.length;
    const target = out && out.length >= n ? out : new Uint8Array(n);
    let at = 0;
    for (const p of this.pieces) {
      if (p.src === "input") {
        target.set(input.subarray(p.start, p.end), at);
        at += p.end - p.start;
      } else {
        target.set(p.bytes, at);
        at += p.bytes.length;
      }
    }
    return target.subarray(0, n);
  }

  /**
   * Assemble the output from an in-memory input into the end of `out` (at least {@link length}
   * bytes), which holds the output of `last` (the pieces of the previous call, `[]` when unknown)
   * at its end: bytes that sit where the last output already put them (the same input bytes at
   * the same place, or the same literal array) are not copied again. A case whose edits leave
   * the bulk of the stream where the last one had it (the disk, the pre-parsed RAM) copies only
   * the bytes around its edits, whatever lengths they changed. Returns the output; pass
   * {@link list} as `last` next time.
   */
  assembleTail(input: Uint8Array, out: Uint8Array, last: readonly Piece[]): Uint8Array {
    if (out.length < this.length) {
      throw new RangeError(`${this.length} bytes do not fit in ${out.length}`);
    }
    this.walkTail(input, out, last, true);
    return out.subarray(out.length - this.length);
  }

  /**
   * What {@link assembleTail} into a buffer of `size` bytes holding `last` would copy, in bytes
   * (to choose among several reused buffers); Infinity when the output does not fit.
   */
  tailCost(size: number, last: readonly Piece[]): number {
    if (size < this.length) return Infinity;
    return this.walkTail(new Uint8Array(0), new Uint8Array(0), last, false, size);
  }

  /** The walk of {@link assembleTail}: copies when `write`, counts the bytes either way. */
  private walkTail(
    input: Uint8Array,
    out: Uint8Array,
    last: readonly Piece[],
    write: boolean,
    size = out.length,
  ): number {
    let copied = 0;
    const part = (p: Piece, at: number, lo: number, hi: number) => {
      copied += hi - lo;
      if (write) copyPart(input, out, p, at, lo, hi);
    };
    let k = 0;
    let qAt = size;
    for (const q of last) qAt -= pieceLength(q);
    let at = size - this.length;
    for (const p of this.pieces) {
      const pEnd = at + pieceLength(p);
      // Last pieces wholly before this one are of no more use.
      while (k < last.length && qAt + pieceLength(last[k]) <= at) qAt += pieceLength(last[k++]);
      let done = at; // bytes [at, done) of this piece are in place
      for (let j = k, qq = qAt; j < last.length && qq < pEnd; j++) {
        const q = last[j];
        const qEnd = qq + pieceLength(q);
        const aligned = p.src === "input"
          ? q.src === "input" && qq - q.start === at - p.start
          : q.src === "bytes" && q.bytes === p.bytes && qq === at;
        if (aligned) {
          const lo = Math.max(at, qq);
          if (lo > done) part(p, at, done, lo);
          done = Math.min(pEnd, qEnd);
        }
        qq = qEnd;
      }
      if (done < pEnd) part(p, at, done, pEnd);
      at = pEnd;
    }
    return copied;
  }

  /**
   * The output as a source that copies pieces only as a reader asks for them (a load refused
   * early never copies the rest). The pieces are taken as they are now.
   */
  source(input: Uint8Array): ByteSource {
    const list = this.pieces.slice();
    let i = 0;
    let off = 0;
    return {
      size: this.length,
      read(into) {
        let n = 0;
        while (n < into.length && i < list.length) {
          const p = list[i];
          const bytes = p.src === "input" ? input.subarray(p.start, p.end) : p.bytes;
          const take = Math.min(into.length - n, bytes.length - off);
          into.set(bytes.subarray(off, off + take), n);
          n += take;
          off += take;
          if (off === bytes.length) {
            i++;
            off = 0;
          }
        }
        return Promise.resolve(n === 0 ? null : n);
      },
    };
  }
}

function pieceLength(p: Piece): number {
  return p.src === "input" ? p.end - p.start : p.bytes.length;
}

/** Write output bytes `[lo, hi)` of piece `p`, which starts at output offset `at`. */
function copyPart(
  input: Uint8Array,
  out: Uint8Array,
  p: Piece,
  at: number,
  lo: number,
  hi: number,
): void {
  const bytes = p.src === "input" ? input.subarray(p.start, p.end) : p.bytes;
  out.set(bytes.subarray(lo - at, hi - at), lo);
}

function nonEmpty(p: Piece): boolean {
  return p.src === "input" ? p.end > p.start : p.bytes.length > 0;
}

function conflict(start: number, end: number): CorruptOpError {
  return new CorruptOpError(
    "conflict",
    `bytes ${start}..${end} of the input were already removed or replaced by an earlier operation`,
  );
}
