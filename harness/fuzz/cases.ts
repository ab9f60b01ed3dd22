/**
 * Fuzz cases: case `i` of a campaign with seed `s` is a fixed recipe (1 to `maxOps` operations
 * drawn from the weighted strategies with a PRNG seeded from `s` and `i`), so any case can be
 * rebuilt on its own, by any worker, in any order.
 *
 * Pre-parsed RAM: most cases leave the RAM chunks alone, yet every load would walk thousands of
 * ZERO records that do nothing on a fresh machine. Such a case gets each untouched RAM chunk's
 * payload replaced by its pre-parsed equivalent (the records that write something, then EOS),
 * which loads into exactly the same machine. Cases that touch RAM bytes, or copy them, keep them
 * as they are; and bugs are confirmed on the unmodified bytes.
 * @module
 */
import { bytesAccess } from "../../migration/inspect/byte_access.ts";
import type { LayoutChunk, StreamLayout } from "../../migration/inspect/layout.ts";
import { RamFlag } from "../../migration/sections/constants.ts";
import type { ByteSource } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { planPreload, type RamPreload, type Replacement } from "./preload.ts";
import {
  type ApplyContext,
  applyOps,
  type CorruptOp,
  layoutOfBytes,
  type Piece,
  type PieceTable,
  randomOps,
  Rng,
  STRATEGY_WEIGHTS,
  Targets,
} from "../../migration/corrupt/mod.ts";

/** The seed of case `index` in a campaign seeded with `seed`. */
export function caseSeed(seed: number, index: number): number {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A RAM chunk payload and the bytes that load the same on a fresh machine. */
type Compaction = Replacement;

/** The base with some RAM chunk payloads replaced, which cases that only overwrite bytes patch. */
interface Variant {
  compactions: Compaction[];
  work: Uint8Array;
  /** Ranges of `work` patched by the last case: [work offset, base offset, length]. */
  patched: [number, number, number][];
  /**
   * Where this variant's cases that change lengths are assembled, at the end (reused: no
   * allocation), and the pieces each buffer ends with (see PieceTable.assembleTail): two per
   * variant, as the kinds of case alternate and each keeps its own bytes in place.
   */
  assembly: { buf: Uint8Array; holds: readonly Piece[]; used: number }[];
}

function variantOf(base: Uint8Array, compactions: Compaction[]): Variant {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of compactions) {
    parts.push(base.subarray(at, c.start), c.payload);
    at = c.end;
  }
  parts.push(base.subarray(at));
  const work = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    work.set(p, o);
    o += p.length;
  }
  return {
    compactions,
    work,
    patched: [],
    assembly: [0, 1].map(() => ({ buf: new Uint8Array(0), holds: [], used: 0 })),
  };
}

/** The pre-parsed form of a RAM chunk's payload: records that write something, then EOS. */
export function compactRamPayload(chunk: LayoutChunk, pageSize: number, base: Uint8Array) {
  const records = chunk.ramRecords ?? [];
  if (!records.length || records.some((r) => r.kind === "mem-size" || r.kind === "block")) {
    return undefined;
  }
  if (records[records.length - 1].kind !== "eos") return undefined;
  const w = new StreamWriter();
  let current: string | undefined;
  for (const r of records) {
    if (r.kind === "eos" || r.kind === "flush") continue;
    if (r.kind === "zero" && r.fill === 0) continue;
    if (r.kind !== "zero" && r.kind !== "page") return undefined;
    const kind = r.kind === "zero" ? RamFlag.ZERO : RamFlag.PAGE;
    const addr = r.addr!;
    const cont = current === r.block ? RamFlag.CONTINUE : 0;
    w.be64Parts(Math.floor(addr / 2 ** 32), (addr >>> 0) | kind | cont);
    if (!cont) w.str8(r.block!);
    current = r.block;
    if (r.kind === "zero") w.u8(r.fill!);
    else w.bytes(base.subarray(r.offset + r.size - pageSize, r.offset + r.size));
  }
  w.be64Parts(0, RamFlag.EOS);
  return w.take();
}

/** True when exactly one piece holds input bytes of `[start, end)`, and all of them. */
function untouched(table: PieceTable, start: number, end: number): boolean {
  let holders = 0;
  for (const p of table.list) {
    if (p.src !== "input" || p.end <= start || p.start >= end) continue;
    if (p.start > start || p.end < end) return false;
    holders++;
  }
  return holders === 1;
}

/** Builds the mutated streams of one base snapshot. */
export class CaseMaker {
  private readonly ctx: ApplyContext;
  /** The base with every RAM chunk pre-parsed. */
  private readonly parsed: Variant;
  /** The base with every RAM chunk pre-loaded (preload.ts), when the stream allows it. */
  private readonly loaded?: Variant;
  /** The RAM image pre-loaded cases expect in the machine, when the stream allows them. */
  readonly preload?: RamPreload;
  /** Cases assembled so far (the clock of the assembly buffers' `used`). */
  private assembled = 0;

  private constructor(
    readonly base: Uint8Array,
    readonly layout: StreamLayout,
    private readonly targets: Targets,
    private readonly maxOps: number,
    preload: boolean,
  ) {
    this.ctx = { layout, input: bytesAccess(base) };
    const compactions: Compaction[] = [];
    for (const c of layout.chunks) {
      const payload = compactRamPayload(c, layout.pageSize, base);
      if (payload && payload.length < c.payloadSize) {
        compactions.push({
          start: c.payloadOffset,
          end: c.payloadOffset + c.payloadSize,
          payload,
        });
      }
    }
    this.parsed = variantOf(base, compactions);
    if (preload) {
      this.preload = planPreload(layout, base, compactions);
      if (this.preload) this.loaded = variantOf(base, this.preload.replacements);
    }
  }

  /**
   * Patch `work` in place when the case's pieces are the pre-parsed base with some bytes
   * overwritten (no length change outside the RAM chunks); returns the view, or undefined.
   */
  private patch(table: PieceTable, v: Variant): Uint8Array | undefined {
    this.unpatch(this.parsed);
    if (this.loaded) this.unpatch(this.loaded);
    const list = table.list;
    const size = this.base.length;
    let pos = 0; // input offset reached
    let shift = 0; // work offset = input offset - shift
    let ci = 0; // next compaction
    let i = 0;
    while (i < list.length) {
      const p = list[i];
      if (p.src === "input") {
        if (p.start !== pos) return this.abandon(v);
        pos = p.end;
        i++;
        continue;
      }
      const c = v.compactions[ci];
      if (c && p.bytes === c.payload && pos === c.start) {
        shift += c.end - c.start - c.payload.length;
        pos = c.end;
        ci++;
        i++;
        continue;
      }
      let j = i;
      let len = 0;
      while (j < list.length) {
        const q = list[j];
        if (q.src !== "bytes") break;
        len += q.bytes.length;
        j++;
      }
      const after = list[j];
      const next = after?.src === "input" ? after.start : size;
      if (next - pos !== len || (c && pos + len > c.start)) return this.abandon(v);
      for (let k = i; k < j; k++) {
        const q = list[k];
        if (q.src !== "bytes") break;
        v.patched.push([pos - shift, pos, q.bytes.length]);
        v.work.set(q.bytes, pos - shift);
        pos += q.bytes.length;
      }
      i = j;
    }
    if (pos !== size || ci !== v.compactions.length) return this.abandon(v);
    return v.work;
  }

  private abandon(v: Variant): undefined {
    this.unpatch(v);
    return undefined;
  }

  /** Put back the bytes the last in-place case overwrote. */
  private unpatch(v: Variant): void {
    for (const [w, b, n] of v.patched) v.work.set(this.base.subarray(b, b + n), w);
    v.patched.length = 0;
  }

  /** Inspect `base` once and get ready to mutate it. */
  static async create(
    base: Uint8Array,
    maxOps = 3,
    weights = STRATEGY_WEIGHTS,
    preload = true,
  ): Promise<CaseMaker> {
    const layout = await layoutOfBytes(base);
    return new CaseMaker(base, layout, new Targets(layout, weights), maxOps, preload);
  }

  /**
   * Case `index`: its operations and the bytes to load: the pre-parsed base patched in place, or
   * the pieces assembled into a reused buffer (both valid until the next call), or a fresh array
   * when `exact`. Untouched RAM chunks are pre-parsed unless `exact`; with `ramPreloaded` they
   * are pre-loaded instead, and the bytes must load into a machine holding `preload`'s image.
   */
  async make(
    seed: number,
    index: number,
    exact = false,
  ): Promise<
    {
      ops: CorruptOp[];
      input: Uint8Array | ByteSource;
      preParsed: boolean;
      ramPreloaded: boolean;
    }
  > {
    const rng = new Rng(caseSeed(seed, index));
    const count = 1 + rng.int(this.maxOps);
    const { ops, table } = await randomOps(this.ctx, this.targets, rng, count);
    if (exact) {
      return { ops, input: table.assemble(this.base), preParsed: false, ramPreloaded: false };
    }
    const first = table.list[0];
    const ramPreloaded = this.loaded !== undefined && first?.src === "input" &&
      first.start === 0 && first.end >= this.preload!.prefixEnd;
    const v = ramPreloaded ? this.loaded! : this.parsed;
    let preParsed = false;
    for (const c of v.compactions) {
      if (!untouched(table, c.start, c.end)) continue;
      table.replace(c.start, c.end, [{ src: "bytes", bytes: c.payload }]);
      preParsed = true;
    }
    const inPlace = this.patch(table, v);
    if (inPlace) return { ops, input: inPlace, preParsed, ramPreloaded };
    // Assembling into a reused buffer costs at most one copy, and the base's tail that the last
    // case left at the buffer's end is not copied again; reading the pieces through a source
    // costs more (the reader's buffer grows by copying, and items restart as it does).
    // The reused buffer where the fewest bytes are not already in place; when every one needs
    // most of a full copy, the one used least lately (a case that moves the bulk of the stream,
    // by editing its end, then leaves the buffer the usual cases find their bytes in alone).
    const n = table.length;
    let a = v.assembly[0];
    let cost = Infinity;
    for (const b of v.assembly) {
      const c = table.tailCost(b.buf.length, b.holds);
      if (c < cost) [a, cost] = [b, c];
    }
    if (cost > n / 2) {
      for (const b of v.assembly) if (b.used < a.used) a = b;
    }
    a.used = ++this.assembled;
    if (a.buf.length < n) {
      a.buf = new Uint8Array(n + 65536);
      a.holds = [];
    }
    const input = table.assembleTail(this.base, a.buf, a.holds);
    a.holds = table.list.slice();
    return { ops, input, preParsed, ramPreloaded };
  }

  /**
   * The unmodified base as cases load it: pre-loaded when the stream allows it (then it must load
   * into a machine holding `preload`'s image), else pre-parsed; a fresh array.
   */
  unmodified(): { input: Uint8Array; ramPreloaded: boolean } {
    const v = this.loaded ?? this.parsed;
    this.unpatch(v);
    return { input: v.work.slice(), ramPreloaded: v === this.loaded };
  }

  /** The bytes of an explicit recipe (shrinking, confirmation); a fresh array. */
  async build(ops: CorruptOp[]): Promise<Uint8Array> {
    return (await applyOps(this.ctx, ops)).assemble(this.base);
  }
}
