/**
 * Pre-loaded RAM: a case that leaves the stream untouched up to the end of its last pre-parsed
 * RAM chunk loads those chunks exactly as the base does, so their effect on a fresh machine is
 * known in advance: the RAM image (the pages they fill). Such a case loads into a machine that
 * already holds that image, with each of those chunks cut down to one record that changes
 * nothing but leaves the loader where the chunk would (current block), then EOS. A 128 MiB Linux
 * guest's megabytes of pages are then neither copied in, nor zeroed, nor compared per case; the
 * reset puts back only the pages a case changed (the load's changed pages, the guest's dirty
 * ones). Cases that touch anything before that point load the full pre-parsed chunks into a zero
 * machine as before.
 * @module
 */
import type { LayoutChunk, StreamLayout } from "../../migration/inspect/layout.ts";
import { RamFlag } from "../../migration/sections/constants.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type { Ram } from "../../emu/ram.ts";

/** What a chunk's payload is replaced by: input range `[start, end)` and the new bytes. */
export interface Replacement {
  start: number;
  end: number;
  payload: Uint8Array;
}

/** The RAM image of the pre-parsed chunks and what replaces them in a pre-loaded case. */
export interface RamPreload {
  /** Input offset a case must leave untouched up to (the end of the last replaced chunk). */
  prefixEnd: number;
  /** The replacements, in stream order (the same chunks as the pre-parsed ones). */
  replacements: Replacement[];
  /** Bytes per page. */
  pageSize: number;
  /** Pages the image fills, ascending, and where each one's bytes come from. */
  pages: Int32Array;
  /** Offset in the base of page `pages[i]`'s bytes, or -1 - fill for a filled page. */
  sources: Int32Array;
  /** The image's pages as a bitmap (the `written` bits a load of the chunks sets). */
  bitmap: Uint32Array;
  /** The base stream the page bytes are read from. */
  base: Uint8Array;
}

/** One no-op record (ZERO, fill 0, on a page the image leaves zero) naming `block`, then EOS. */
function noOpPayload(block: string, addr: number): Uint8Array {
  const w = new StreamWriter();
  w.be64Parts(Math.floor(addr / 2 ** 32), (addr >>> 0) | RamFlag.ZERO);
  w.str8(block);
  w.u8(0);
  w.be64Parts(0, RamFlag.EOS);
  return w.take();
}

/**
 * The pre-load plan for the pre-parsed chunks `chunks` (their input ranges), or undefined when
 * the stream does not allow one (several RAM blocks, or no page the image leaves zero).
 */
export function planPreload(
  layout: StreamLayout,
  base: Uint8Array,
  ranges: readonly { start: number; end: number; payload: Uint8Array }[],
): RamPreload | undefined {
  if (!ranges.length) return undefined;
  const ps = layout.pageSize;
  const chunks: LayoutChunk[] = [];
  for (const r of ranges) {
    const c = layout.chunks.find((c) => c.payloadOffset === r.start);
    if (!c?.ramRecords) return undefined;
    chunks.push(c);
  }
  let block: string | undefined;
  const source = new Map<number, number>();
  const zeroCandidates: number[] = [];
  for (const c of chunks) {
    for (const r of c.ramRecords!) {
      if (r.kind !== "zero" && r.kind !== "page") continue;
      if (block !== undefined && r.block !== block) return undefined;
      block = r.block!;
      const page = r.addr! / ps;
      if (r.kind === "zero" && r.fill === 0) zeroCandidates.push(page);
      else if (r.kind === "zero") source.set(page, -1 - r.fill!);
      else source.set(page, r.offset + r.size - ps);
    }
  }
  const quiet = zeroCandidates.find((p) => !source.has(p));
  if (block === undefined || quiet === undefined) return undefined;
  const noOp = noOpPayload(block, quiet * ps);
  const replacements = ranges.map((r) => ({
    start: r.start,
    end: r.end,
    // A chunk that fills nothing pre-parses to EOS alone: keep that (it names no block).
    payload: r.payload.length === 8 ? r.payload : noOp,
  }));
  const pages = Int32Array.from([...source.keys()].sort((a, b) => a - b));
  const sources = Int32Array.from(pages, (p) => source.get(p)!);
  const maxPage = Math.max(quiet, ...pages);
  const bitmap = new Uint32Array((maxPage >>> 5) + 1);
  for (const p of pages) bitmap[p >>> 5] |= 1 << (p & 31);
  return {
    prefixEnd: ranges[ranges.length - 1].end,
    replacements,
    pageSize: ps,
    pages,
    sources,
    bitmap,
    base,
  };
}

/** Write page `i` of the image into `u8` (RAM bytes). */
export function putImagePage(plan: RamPreload, u8: Uint8Array, i: number): void {
  const ps = plan.pageSize;
  const at = plan.pages[i] * ps;
  const src = plan.sources[i];
  if (src < 0) u8.fill(-1 - src, at, at + ps);
  else u8.set(plan.base.subarray(src, src + ps), at);
}

/** The image's index of page `p`, or -1 when the image leaves it zero. */
export function imageIndex(plan: RamPreload, p: number): number {
  const pages = plan.pages;
  let lo = 0, hi = pages.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = pages[mid];
    if (v === p) return mid;
    if (v < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Bit word `w` of the image bitmap (0 past its end). */
export function imageWord(plan: RamPreload, w: number): number {
  return w < plan.bitmap.length ? plan.bitmap[w] : 0;
}

/** Put the image into a fresh machine's RAM, with the `written` bits a load would set. */
export function installImage(plan: RamPreload, ram: Ram): void {
  for (let i = 0; i < plan.pages.length; i++) putImagePage(plan, ram.u8, i);
  for (let w = 0; w < plan.bitmap.length; w++) ram.written[w] |= plan.bitmap[w];
}
