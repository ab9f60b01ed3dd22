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
   * bytes), where input bytes `[kept, inputSize)` already sit at the very end (from the last
   * call): a case whose output ends with the input's tail copies only what comes before it,
   * whatever lengths its edits changed. Returns the output and the new `kept` for the next call
   * (`inputSize` when nothing is known to be there).
   */
  assembleTail(
    input: Uint8Array,
    out: Uint8Array,
    kept: number,
  ): { bytes: Uint8Array; kept: number } {
    const n = this.length;
    if (out.length < n) throw new RangeError(`${n} bytes do not fit in ${out.length}`);
    const ps = this.pieces;
    const last = ps[ps.length - 1];
    const size = this.inputSize;
    const tail = last?.src === "input" && last.end === size ? last.start : size;
    const head = tail < size ? ps.length - 1 : ps.length;
    const end = out.length;
    let at = end - n;
    for (let i = 0; i < head; i++) {
      const p = ps[i];
      if (p.src === "input") {
        out.set(input.subarray(p.start, p.end), at);
        at += p.end - p.start;
      } else {
        out.set(p.bytes, at);
        at += p.bytes.length;
      }
    }
    if (tail < kept) out.set(input.subarray(tail, kept), end - (size - tail));
    return { bytes: out.subarray(end - n), kept: tail };
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

function nonEmpty(p: Piece): boolean {
  return p.src === "input" ? p.end > p.start : p.bytes.length > 0;
}

function conflict(start: number, end: number): CorruptOpError {
  return new CorruptOpError(
    "conflict",
    `bytes ${start}..${end} of the input were already removed or replaced by an earlier operation`,
  );
}
