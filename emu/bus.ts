/**
 * The system bus: a region table mapping guest physical addresses to RAM or
 * MMIO devices. The CPU reaches RAM directly on its fast paths; everything
 * else (MMIO, misaligned or cross-region accesses, DMA) comes through here.
 *
 * @module
 */

import { BusError, ConfigError } from "./errors.ts";
import type { Ram } from "./ram.ts";

/** Access width in bytes. */
export type AccessSize = 1 | 2 | 4;

/** A memory-mapped device; `offset` is relative to the base it was mapped at. */
export interface MmioDevice {
  /** Reads `size` bytes at `offset`; returns the zero-extended value. */
  read(offset: number, size: AccessSize): number;
  /** Writes the low `size` bytes of `value` at `offset`. */
  write(offset: number, size: AccessSize, value: number): void;
}

/** One entry of the region table. */
export interface Region {
  /** Diagnostic name ("uart0", "clint", "ram"). */
  readonly name: string;
  /** First guest physical address. */
  readonly base: number;
  /** Size in bytes. */
  readonly size: number;
  /** The device, or null for the RAM region (handled inline). */
  readonly device: MmioDevice | null;
}

/** Address decoder: one lookup in a small sorted table, with a last-hit cache for MMIO. */
export class Bus {
  /** The RAM this bus owns. */
  readonly ram: Ram;
  private readonly table: Region[] = [];
  private last: Region | null = null;

  /** Creates a bus with `ram` mapped at its base. */
  constructor(ram: Ram) {
    this.ram = ram;
    this.table.push({ name: "ram", base: ram.base, size: ram.size, device: null });
  }

  /** Maps `device` at `[base, base+size)`; overlapping an existing region is a config error. */
  map(base: number, size: number, device: MmioDevice, name = "mmio"): void {
    base >>>= 0;
    if (!Number.isInteger(size) || size <= 0 || base + size > 0x1_0000_0000) {
      throw new ConfigError(`Invalid region "${name}": base 0x${base.toString(16)} size ${size}`);
    }
    for (const r of this.table) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new ConfigError(`Region "${name}" at 0x${base.toString(16)} overlaps "${r.name}"`);
      }
    }
    this.table.push({ name, base, size, device });
    this.table.sort((a, b) => a.base - b.base);
  }

  /** The region table, sorted by base (for `info mtree`-style listings). */
  get regions(): readonly Region[] {
    return this.table;
  }

  /** The region containing `addr`, or undefined. */
  find(addr: number): Region | undefined {
    addr >>>= 0;
    const last = this.last;
    if (last !== null && addr - last.base < last.size && addr >= last.base) return last;
    for (const r of this.table) {
      if (addr >= r.base && addr - r.base < r.size) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /**
   * Loads `size` bytes at `addr`, zero-extended. Misaligned or region-crossing
   * accesses are split into bytes (QEMU 7.2 behaviour). Throws {@link BusError}.
   */
  load(addr: number, size: AccessSize): number {
    addr >>>= 0;
    const r = this.find(addr);
    if (r !== undefined && (addr & (size - 1)) === 0 && addr - r.base + size <= r.size) {
      if (r.device === null) {
        const off = addr - r.base;
        const ram = this.ram;
        if (ram.absent !== null) ram.requirePresent(off, size);
        return size === 4 ? ram.u32[off >>> 2] : size === 2 ? ram.u16[off >>> 1] : ram.u8[off];
      }
      const v = r.device.read(addr - r.base, size);
      return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
    }
    if (r === undefined || size === 1) throw new BusError(addr, false);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.load((addr + i) >>> 0, 1);
    return v >>> 0;
  }

  /** Stores the low `size` bytes of `value` at `addr` (split like {@link Bus.load}). */
  store(addr: number, size: AccessSize, value: number): void {
    addr >>>= 0;
    const r = this.find(addr);
    if (r !== undefined && (addr & (size - 1)) === 0 && addr - r.base + size <= r.size) {
      if (r.device === null) {
        const off = addr - r.base;
        const ram = this.ram;
        if (ram.absent !== null) ram.requirePresent(off, size);
        if (size === 4) ram.u32[off >>> 2] = value;
        else if (size === 2) ram.u16[off >>> 1] = value;
        else ram.u8[off] = value;
        ram.touch(off, size);
        return;
      }
      r.device.write(
        addr - r.base,
        size,
        size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff),
      );
      return;
    }
    if (r === undefined || size === 1) throw new BusError(addr, true);
    // Check every byte first so a faulting split store writes nothing.
    for (let i = 1; i < size; i++) {
      if (this.find((addr + i) >>> 0) === undefined) throw new BusError((addr + i) >>> 0, true);
    }
    for (let i = 0; i < size; i++) this.store((addr + i) >>> 0, 1, (value >>> (8 * i)) & 0xff);
  }
}
