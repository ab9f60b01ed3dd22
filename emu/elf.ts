/**
 * ELF32 little-endian RISC-V executable loader: copies PT_LOAD segments into
 * RAM, returns the entry point and a symbol table (for `tohost` and friends).
 * Every malformed input becomes an {@link ElfError} with a reason.
 *
 * @module
 */

import { ElfError } from "./errors.ts";
import type { Ram } from "./ram.ts";

/** ELF e_machine value for RISC-V. */
export const EM_RISCV = 243;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const ET_EXEC = 2;
const ET_DYN = 3;

/** A loadable segment as found in the program header table. */
export interface ElfSegment {
  /** Physical load address (p_paddr; equals p_vaddr for bare-metal images). */
  readonly paddr: number;
  /** Bytes copied from the file. */
  readonly fileSize: number;
  /** Bytes occupied in memory (the rest is zero-filled .bss). */
  readonly memSize: number;
  /** Offset of the data in the file. */
  readonly offset: number;
}

/** A parsed ELF image, independent of any RAM. */
export interface ElfImage {
  /** Entry point (e_entry). */
  readonly entry: number;
  /** PT_LOAD segments in file order. */
  readonly segments: readonly ElfSegment[];
  /** Symbol name to value (st_value), from .symtab if present. */
  readonly symbols: ReadonlyMap<string, number>;
  /** The file bytes (segments point into it). */
  readonly bytes: Uint8Array;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/** Bounds-checked little-endian reader so truncation surfaces as an ElfError, not a RangeError. */
class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new ElfError(
        "truncated",
        `ELF file truncated: ${what} needs bytes ${off}..${
          off + len
        } but file has ${this.bytes.length}`,
      );
    }
  }
  u8(off: number): number {
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    return this.view.getUint16(off, true);
  }
  u32(off: number): number {
    return this.view.getUint32(off, true);
  }
}

/** Parses and validates an ELF32 LE RISC-V executable without touching RAM. */
export function parseElf(bytes: Uint8Array): ElfImage {
  const r = new Reader(bytes);
  if (
    bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    throw new ElfError("not-elf", "Not an ELF file: missing \\x7fELF magic");
  }
  r.need(0, 52, "ELF header");
  if (r.u8(4) !== 1) {
    throw new ElfError("wrong-class", `Unsupported ELF class ${r.u8(4)}: only ELF32 is supported`);
  }
  if (r.u8(5) !== 1) {
    throw new ElfError("wrong-endianness", "Unsupported ELF data encoding: only little-endian");
  }
  const type = r.u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError("wrong-type", `Unsupported ELF type ${type}: need an executable`);
  }
  const machine = r.u16(18);
  if (machine !== EM_RISCV) {
    throw new ElfError("wrong-machine", `Unsupported ELF machine ${machine}: need RISC-V (243)`);
  }
  const entry = r.u32(24);
  const phoff = r.u32(28);
  const shoff = r.u32(32);
  const phentsize = r.u16(42);
  const phnum = r.u16(44);
  const shentsize = r.u16(46);
  const shnum = r.u16(48);

  const segments: ElfSegment[] = [];
  if (phnum > 0 && phentsize < 32) {
    throw new ElfError("bad-segment", `Program header entry size ${phentsize} is below 32`);
  }
  r.need(phoff, phnum * phentsize, "program header table");
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (r.u32(p) !== PT_LOAD) continue;
    const seg: ElfSegment = {
      offset: r.u32(p + 4),
      paddr: r.u32(p + 12),
      fileSize: r.u32(p + 16),
      memSize: r.u32(p + 20),
    };
    if (seg.fileSize > seg.memSize) {
      throw new ElfError(
        "bad-segment",
        `Segment ${i} has file size ${seg.fileSize} larger than memory size ${seg.memSize}`,
      );
    }
    r.need(seg.offset, seg.fileSize, `segment ${i} data`);
    segments.push(seg);
  }

  const symbols = new Map<string, number>();
  if (shoff !== 0 && shnum > 0) {
    if (shentsize < 40) {
      throw new ElfError("truncated", `Section header entry size ${shentsize} is below 40`);
    }
    r.need(shoff, shnum * shentsize, "section header table");
    for (let i = 0; i < shnum; i++) {
      const sh = shoff + i * shentsize;
      if (r.u32(sh + 4) !== SHT_SYMTAB) continue;
      const symOff = r.u32(sh + 16);
      const symSize = r.u32(sh + 20);
      const link = r.u32(sh + 24);
      const entSize = r.u32(sh + 36) || 16;
      if (link >= shnum) throw new ElfError("truncated", `Symbol table links to section ${link}`);
      const strSh = shoff + link * shentsize;
      const strOff = r.u32(strSh + 16);
      const strSize = r.u32(strSh + 20);
      r.need(symOff, symSize, "symbol table");
      r.need(strOff, strSize, "string table");
      const decoder = new TextDecoder();
      for (let s = symOff; s + 16 <= symOff + symSize; s += entSize) {
        const nameOff = r.u32(s);
        if (nameOff === 0 || nameOff >= strSize) continue;
        let end = strOff + nameOff;
        while (end < strOff + strSize && bytes[end] !== 0) end++;
        const name = decoder.decode(bytes.subarray(strOff + nameOff, end));
        if (!symbols.has(name)) symbols.set(name, r.u32(s + 4));
      }
    }
  }
  return { entry, segments, symbols, bytes };
}

/** Copies the image's segments into `ram` (zero-filling .bss); throws if one falls outside RAM. */
export function loadElfSegments(image: ElfImage, ram: Ram): void {
  for (const seg of image.segments) {
    if (seg.memSize === 0) continue;
    if (!ram.contains(seg.paddr, seg.memSize)) {
      throw new ElfError(
        "segment-outside-ram",
        `Segment at ${hex(seg.paddr)} (${seg.memSize} bytes) lies outside RAM ${hex(ram.base)}..${
          hex(ram.base + ram.size)
        }`,
      );
    }
  }
  for (const seg of image.segments) {
    if (seg.memSize === 0) continue;
    ram.write(seg.paddr, image.bytes.subarray(seg.offset, seg.offset + seg.fileSize));
    if (seg.memSize > seg.fileSize) {
      ram.write(seg.paddr + seg.fileSize, new Uint8Array(seg.memSize - seg.fileSize));
    }
  }
}

/** Parses `bytes` and loads them into `ram`; the one call a machine needs to boot a kernel. */
export function loadElf(bytes: Uint8Array, ram: Ram): ElfImage {
  const image = parseElf(bytes);
  loadElfSegments(image, ram);
  return image;
}
