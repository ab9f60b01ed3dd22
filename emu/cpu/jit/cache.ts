/**
 * The translation cache: compiled blocks keyed by the RAM word index of their first instruction
 * (a physical address, so one block serves every virtual mapping and privilege: the code takes
 * pc and the data-access context as arguments). Translation waits until an entry point has been
 * reached {@link HOT} times (a hashed counter), so cold code stays in the interpreter.
 *
 * Invalidation: every word a block covers has its bit set in {@link JitCache.code}; the inline
 * store paths (interpreter and translated code) test that bit and call
 * {@link JitCache.invalidateWord}, which drops every block of that page; slower writes reach it
 * through the RAM's touch hook. Whatever else clears the decode cache (loads, page resets)
 * clears the first word of a block's page range too, and a block whose first word is no longer
 * decoded is dropped when next looked up. FENCE.I and state loads flush everything.
 * Translated code is never state: dropping all of it at any time changes nothing but speed.
 *
 * @module
 */

import type { Ram } from "../../ram.ts";
import { div, divu, mulh, mulhsu, mulhu, rem, remu } from "../alu.ts";
import { decode } from "../decode.ts";
import { translateBlock } from "./codegen.ts";

/**
 * Times a jump target is reached (counted per hashed virtual pc) before it is translated: the
 * counter's maximum. A translated block only pays off once V8 has optimised it (a few hundred
 * calls and a Maglev compile of about a millisecond each); at 1,000 the Linux boot translated
 * ~400 blocks and took 1.2-2x the interpreter's CPU time, at 5,000 1.2-1.5x, at 65,535 (4 blocks)
 * the same as the interpreter, while hot loops (compute.elf) are translated within microseconds
 * at any of them (docs/benchmarks.md).
 */
export const HOT = 0xffff;
/** Slots of {@link JitCache.hot} and {@link JitCache.entry}: index `(pc >>> 2) & (HOT_SLOTS - 1)`. */
export const HOT_SLOTS = 1 << 16;

/** A translated block: `(pc, dd, lb, sb, budget)` returns the next pc, instructions retired in st[0]. */
export type BlockFn = (pc: number, dd: boolean, lb: number, sb: number, budget: number) => number;

/** One cache entry. */
export class JitBlock {
  /** Creates an entry; `fn` null means "the first instruction is left to the interpreter". */
  constructor(
    readonly fn: BlockFn | null,
    readonly len: number,
    readonly w: number,
  ) {}
}

/** Entries of the direct-mapped front of the cache ({@link JitCache.table}). */
export const TABLE_SIZE = 1 << 14;
/** Builds a block function bound to one hart's arrays (the parameters below). */
type Factory = (...args: unknown[]) => BlockFn;
const FACTORY_PARAMS = [
  "x",
  "tlbTag",
  "tlbAdd",
  "m32",
  "i16",
  "u16",
  "i8",
  "u8",
  "dec",
  "dirty",
  "code",
  "st",
  "inv",
  "mulh",
  "mulhsu",
  "mulhu",
  "div",
  "divu",
  "rem",
  "remu",
];
/**
 * Factories by block source, shared by every hart of the process: a block translated again (the
 * next machine booting the same guest, a cache flush) skips V8's parser. (Its closures share
 * type feedback only once V8 gave the factory a feedback vector, after a few calls: not measured.)
 */
const FACTORIES = new Map<string, Factory>();
/** Sources kept in {@link FACTORIES} before it starts over. */
const MAX_FACTORIES = 8192;

/** Fills empty {@link JitCache.table} slots (matches no word), so the table stays monomorphic. */
const EMPTY = new JitBlock(null, 0, -1);

/** Compiled blocks of one hart's RAM, with the per-word map stores check. */
export class JitCache {
  /** One bit per RAM word covered by a translated block (bit w & 31 of word w >>> 5). */
  readonly code: Uint32Array;
  /** Instructions the last block function retired. */
  readonly st: Int32Array = new Int32Array(1);
  /**
   * Direct-mapped front of the cache, slot `w & (TABLE_SIZE - 1)`: the run loop probes it inline
   * (a Map lookup per block cost more than the block itself); misses go to {@link lookup}.
   */
  readonly table: JitBlock[] = new Array<JitBlock>(TABLE_SIZE).fill(EMPTY);
  /** Blocks translated so far (statistics). */
  translated = 0;
  private readonly blocks = new Map<number, JitBlock>();
  private readonly pages = new Map<number, number[]>();
  /**
   * Jump counts per hashed virtual target, kept by the interpreter: it hands over to the
   * translator when a count reaches {@link HOT}, and only then (an interpreter call per jump
   * would cost more than translation wins on code that runs a few hundred times).
   */
  readonly hot: Uint16Array = new Uint16Array(HOT_SLOTS);
  /** Non-zero where a block was entered from that hashed virtual pc: the interpreter hands over. */
  readonly entry: Uint8Array = new Uint8Array(HOT_SLOTS);
  private readonly ram: Ram;
  private readonly factoryArgs: unknown[];

  /** Jumps to a target before it is translated ({@link HOT}; tests use 1 to translate everything). */
  readonly threshold: number;

  /** Creates an empty cache for `ram`; `code` is its zeroed word bitmap (size / 128 + 1 words). */
  constructor(ram: Ram, code: Uint32Array, threshold = HOT) {
    this.ram = ram;
    this.threshold = Math.max(1, Math.min(threshold, 0xffff));
    this.code = code;
    this.factoryArgs = [
      ram.i32,
      ram.i16,
      ram.u16,
      ram.i8,
      ram.u8,
      ram.decoded,
      ram.dirty,
      this.code,
      this.st,
      (off: number) => this.invalidateWord(off >>> 2),
      mulh,
      mulhsu,
      mulhu,
      div,
      divu,
      rem,
      remu,
    ];
  }

  /**
   * The block starting at RAM word `w`, entered at virtual `pc`: the cached one, or a new
   * translation once `pc` is hot; undefined while cold. `x`, `tlbTag` and `tlbAdd` are the
   * hart's register file and TLB arrays (bound into new blocks).
   */
  lookup(
    w: number,
    pc: number,
    x: Int32Array,
    tlbTag: Int32Array,
    tlbAdd: Int32Array,
  ): JitBlock | undefined {
    const slot = (pc >>> 2) & (HOT_SLOTS - 1);
    let b = this.blocks.get(w);
    if (b !== undefined && this.ram.decoded[w] === 0) {
      this.dropPage(w >>> 10); // its words were rewritten behind our back
      b = undefined;
    }
    if (b === undefined) {
      // Exits of translated blocks count as jumps too (the interpreter counts only its own), so
      // a block's exit target turns hot and gets its block: blocks chain without the interpreter.
      if (this.hot[slot] < this.threshold) {
        this.hot[slot]++;
        return undefined;
      }
      b = this.translate(w, x, tlbTag, tlbAdd);
    }
    this.hot[slot] = 0;
    this.entry[slot] = 1;
    this.table[w & (TABLE_SIZE - 1)] = b;
    return b;
  }

  private translate(w: number, x: Int32Array, tlbTag: Int32Array, tlbAdd: Int32Array): JitBlock {
    const ram = this.ram;
    const src = translateBlock(ram.i32, w, ram.base, ram.size);
    let block: JitBlock;
    if (src === null) block = new JitBlock(null, 0, w);
    else {
      let factory = FACTORIES.get(src.body);
      if (factory === undefined) {
        if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
        factory = new Function(
          ...FACTORY_PARAMS,
          `"use strict"; return function translated(pc, dd, lb, sb, budget) {\n${src.body}\n};`,
        ) as Factory;
        FACTORIES.set(src.body, factory);
      }
      block = new JitBlock(factory(x, tlbTag, tlbAdd, ...this.factoryArgs), src.len, w);
      this.translated++;
    }
    // Cover at least the first word, so a store there drops the entry (even a "not translated").
    const end = w + Math.max(1, block.len);
    const dec = ram.decoded;
    for (let i = w; i < end; i++) {
      if (dec[i] === 0) dec[i] = decode(ram.i32[i]);
      this.code[i >>> 5] |= 1 << (i & 31);
    }
    this.blocks.set(w, block);
    const p = w >>> 10;
    const list = this.pages.get(p);
    if (list === undefined) this.pages.set(p, [w]);
    else list.push(w);
    return block;
  }

  /** A store hit a covered word: drops every block of its page (some may now be stale). */
  invalidateWord(w: number): void {
    this.dropPage(w >>> 10);
  }

  /** The RAM's slow paths wrote `[off, off+len)`: drops blocks of the pages that cover code. */
  touched(off: number, len: number): void {
    if (len <= 0) return;
    const end = off + len;
    for (let p = off >>> 12; p <= (end - 1) >>> 12; p++) {
      if (this.pages.has(p)) this.dropPage(p);
    }
  }

  private dropPage(p: number): void {
    const list = this.pages.get(p);
    if (list === undefined) return;
    this.pages.delete(p);
    for (const w of list) {
      this.blocks.delete(w);
      if (this.table[w & (TABLE_SIZE - 1)].w === w) this.table[w & (TABLE_SIZE - 1)] = EMPTY;
    }
    this.code.fill(0, p << 5, (p + 1) << 5);
  }

  /** Drops every translation (FENCE.I, state loads, switching the translator off). */
  flush(): void {
    if (this.blocks.size === 0) return;
    this.entry.fill(0);
    for (const p of this.pages.keys()) this.code.fill(0, p << 5, (p + 1) << 5);
    this.blocks.clear();
    this.pages.clear();
    this.table.fill(EMPTY);
  }

  /** Number of cached entries. */
  get size(): number {
    return this.blocks.size;
  }
}
