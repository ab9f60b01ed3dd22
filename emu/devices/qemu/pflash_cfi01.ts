/**
 * Intel/Sharp CFI flash (QEMU 7.2 `cfi.pflash01`), as QEMU's riscv `virt` builds its two
 * banks at 0x20000000 and 0x22000000: 32 MiB each, 256 KiB sectors, a 32-bit bank of two
 * 16-bit chips, ids 0x89/0x18, little-endian. The storage is the RAM block `virt.flash0` /
 * `virt.flash1` (migrated by `ram`, not by this section); this file owns the command state
 * machine: read-array mode, status register, device ids, CFI query, program, erase and
 * write-to-buffer, with QEMU's (sometimes non-CFI) answers.
 *
 * Section `pflash_cfi01` v1 (instance 0 and 1), QEMU's `vmstate_pflash`.
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import { newBitmap, setAllPages } from "../../../migration/ram/page_bitmap.ts";
import { uint64, uint8, vmsd } from "../../../migration/vmstate/fields.ts";
import type { AccessSize, MmioDevice } from "../../bus.ts";
import { ConfigError } from "../../errors.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** QEMU virt: the first flash bank (`virt.flash0`). */
export const VIRT_FLASH0_BASE = 0x2000_0000;
/** QEMU virt: the second flash bank (`virt.flash1`). */
export const VIRT_FLASH1_BASE = 0x2200_0000;
/** Size of one virt flash bank (half of VIRT_FLASH's 64 MiB). */
export const VIRT_FLASH_SIZE = 0x200_0000;
/** virt's flash sector length (VIRT_FLASH_SECTOR_SIZE). */
export const VIRT_FLASH_SECTOR = 256 * 1024;

/** Page size of the flash's dirty tracking: the `ram` section's (QEMU's target page). */
export const FLASH_PAGE_SIZE = 4096;
/** log2 of {@link FLASH_PAGE_SIZE}. */
const PAGE_SHIFT = 12;

/** "Read array" in QEMU's encoding (0x00, not the CFI 0xff). */
const CMD_READ_ARRAY = 0x00;
/** Status register bits QEMU ever sets: ready, erase error, program error. */
const STATUS_BITS = 0x80 | 0x20 | 0x10;
/** Every command QEMU's read path knows (others reset to read-array on the next read). */
const KNOWN_CMDS = new Set([0x00, 0x10, 0x20, 0x28, 0x40, 0x50, 0x60, 0x70, 0x90, 0x98, 0xe8]);
/** Commands that make a read return the status register. */
const STATUS_CMDS = new Set([0x10, 0x20, 0x28, 0x40, 0x50, 0x60, 0x70, 0xe8]);
const U64 = (1n << 64n) - 1n;

/** The flash's migrated state (QEMU's PFlashCFI01 fields in `vmstate_pflash`). */
export interface PflashState {
  /** Write cycle of the current command sequence (0..3). */
  wcycle: number;
  /** Current command (0x00 = read array). */
  cmd: number;
  /** Status register (0x80 = write state machine ready). */
  status: number;
  /** Words left in a write-to-buffer (uint64, wraps below 0 as QEMU's). */
  counter: bigint;
}

/** Reset state: read-array mode, ready. */
export function createPflashState(): PflashState {
  return { wcycle: 0, cmd: CMD_READ_ARRAY, status: 0x80, counter: 0n };
}

/** Geometry and identity of one flash bank. */
export interface PflashOptions {
  /**
   * Backing bytes (the RAM block); default a zeroed `VIRT_FLASH_SIZE` buffer. Given bytes count
   * as possibly non-zero everywhere (every page is set in {@link PflashCfi01.written}).
   */
  storage?: Uint8Array;
  /** Sector length in bytes (default 256 KiB). */
  sectorLen?: number;
  /** Bank width in bytes (default 4). */
  bankWidth?: 1 | 2 | 4;
  /** Width of one chip in bytes (default 2; max device width is the same). */
  deviceWidth?: 1 | 2 | 4;
  /** Manufacturer and device ids (default 0x89, 0x18). */
  ident0?: number;
  /** Device id. */
  ident1?: number;
  /** Read-only bank (program/erase set error bits and change nothing). */
  readOnly?: boolean;
  /** Section instance id: virt's flash0 is 0, flash1 is 1. */
  instanceId?: number;
}

/** Builds the CFI query table QEMU 7.2 fills for this geometry (0x52 bytes). */
export function cfiTable(
  size: number,
  sectorLen: number,
  bankWidth: number,
  deviceWidth: number,
): Uint8Array {
  const t = new Uint8Array(0x52);
  const devices = deviceWidth ? bankWidth / deviceWidth : 1;
  const blocks = size / sectorLen;
  const sectorPerDevice = sectorLen / devices;
  const deviceLen = sectorPerDevice * blocks;
  const put = (at: number, bytes: number[]) => t.set(bytes, at);
  put(0x10, [0x51, 0x52, 0x59, 0x01, 0x00, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00]); // "QRY", P_ID 1
  put(0x1b, [0x45, 0x55, 0x00, 0x00, 0x07, 0x07, 0x0a, 0x00, 0x04, 0x04, 0x04, 0x00]);
  t[0x27] = 31 - Math.clz32(deviceLen & -deviceLen); // log2 of the device size
  put(0x28, [0x02, 0x00, bankWidth === 1 ? 0x08 : 0x0b, 0x00, 0x01]);
  t[0x2d] = (blocks - 1) & 0xff;
  t[0x2e] = ((blocks - 1) >> 8) & 0xff;
  t[0x2f] = (sectorPerDevice >> 8) & 0xff;
  t[0x30] = (sectorPerDevice >> 16) & 0xff;
  put(0x31, [0x50, 0x52, 0x49, 0x31, 0x30]); // "PRI10"
  t[0x3f] = 0x01;
  return t;
}

/** One CFI01 flash bank. */
export class PflashCfi01 implements MmioDevice, SnapshotDevice {
  /** Live state. */
  state: PflashState = createPflashState();
  /** Backing bytes. */
  readonly storage: Uint8Array;
  /** The CFI query table. */
  readonly cfi: Uint8Array;
  /**
   * Pages (4 KiB) of {@link storage} programmed or erased since the `ram` section last synced:
   * only this device writes the storage, so saves and live rounds send just these pages.
   */
  readonly dirty: Uint32Array;
  /**
   * Pages that may hold non-zero bytes apart from those in {@link dirty} (the `ram` section folds
   * dirty pages in and sets the pages a load fills); pages in neither are known zero, so a save
   * does not scan them and a load of zero pages there costs nothing.
   */
  readonly written: Uint32Array;
  private readonly sectorLen: number;
  private readonly bankWidth: number;
  private readonly deviceWidth: number;
  private readonly ident0: number;
  private readonly ident1: number;
  private readonly readOnly: boolean;
  private readonly writeblockSize: number;
  private readonly instanceId: number;

  constructor(opts: PflashOptions = {}) {
    this.storage = opts.storage ?? new Uint8Array(VIRT_FLASH_SIZE);
    this.sectorLen = opts.sectorLen ?? VIRT_FLASH_SECTOR;
    this.bankWidth = opts.bankWidth ?? 4;
    this.deviceWidth = opts.deviceWidth ?? 2;
    this.ident0 = opts.ident0 ?? 0x89;
    this.ident1 = opts.ident1 ?? 0x18;
    this.readOnly = opts.readOnly ?? false;
    this.instanceId = opts.instanceId ?? 0;
    if (!this.storage.length || this.storage.length % this.sectorLen) {
      throw new ConfigError(
        `Flash of ${this.storage.length} bytes is not a whole number of ${this.sectorLen}-byte sectors`,
      );
    }
    const pages = Math.ceil(this.storage.length / FLASH_PAGE_SIZE);
    this.dirty = newBitmap(pages);
    this.written = newBitmap(pages);
    if (opts.storage) setAllPages(this.written, pages);
    this.cfi = cfiTable(this.storage.length, this.sectorLen, this.bankWidth, this.deviceWidth);
    const devices = this.bankWidth / this.deviceWidth;
    this.writeblockSize = (1 << this.cfi[0x2a]) * (devices > 1 ? devices : 1);
  }

  /** Power-on reset: read-array mode, status ready. */
  reset(): void {
    this.state = createPflashState();
  }

  // ---- MMIO ----

  /** A read: array data, status, ids or CFI, by the current command (QEMU's pflash_read). */
  read(offset: number, size: AccessSize): number {
    const s = this.state;
    const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    if (!KNOWN_CMDS.has(s.cmd)) {
      s.wcycle = 0;
      s.cmd = CMD_READ_ARRAY;
    }
    if (s.cmd === CMD_READ_ARRAY) return this.dataRead(offset, size);
    if (STATUS_CMDS.has(s.cmd)) {
      let r = s.status;
      for (let sh = this.deviceWidth * 8; sh + this.deviceWidth * 8 <= size * 8;) {
        r |= s.status << sh;
        sh += this.deviceWidth * 8;
      }
      return (r >>> 0) & mask;
    }
    // 0x90 device id, 0x98 CFI query: one bank-wide answer, truncated to the access size.
    const q = s.cmd === 0x90 ? this.devidQuery(offset) : this.cfiQuery(offset);
    return (q >>> 0) & mask;
  }

  /** Index of the chip-level byte a bank-level address asks for. */
  private queryIndex(offset: number): number {
    return offset >>> (31 - Math.clz32(this.bankWidth));
  }

  private replicate(resp: number): number {
    let r = resp;
    for (let i = this.deviceWidth; i < this.bankWidth; i += this.deviceWidth) {
      const bits = 8 * this.deviceWidth;
      const m = ((bits === 32 ? 0xffffffff : (1 << bits) - 1) << (8 * i)) >>> 0;
      r = ((r & ~m) | ((r << (8 * i)) & m)) >>> 0;
    }
    return r;
  }

  private cfiQuery(offset: number): number {
    const i = this.queryIndex(offset);
    return i >= this.cfi.length ? 0 : this.replicate(this.cfi[i]);
  }

  private devidQuery(offset: number): number {
    const i = this.queryIndex(offset) & 0xff;
    if (i > 1) return 0;
    return this.replicate(i === 0 ? this.ident0 : this.ident1);
  }

  private dataRead(offset: number, size: AccessSize): number {
    const p = this.storage;
    if (offset + size > p.length) return 0;
    let r = 0;
    for (let i = size - 1; i >= 0; i--) r = (r << 8) | p[offset + i];
    return r >>> 0;
  }

  private dataWrite(offset: number, size: AccessSize, value: number): void {
    if (offset + size > this.storage.length) return;
    for (let i = 0; i < size; i++) this.storage[offset + i] = (value >>> (8 * i)) & 0xff;
    this.markDirty(offset, offset + size);
  }

  /** Sets the dirty bits of the pages under bytes `[from, to)` of the storage. */
  private markDirty(from: number, to: number): void {
    const d = this.dirty;
    const last = (to - 1) >>> PAGE_SHIFT;
    for (let p = from >>> PAGE_SHIFT; p <= last; p++) d[p >>> 5] |= 1 << (p & 31);
  }

  private readArray(): void {
    this.state.wcycle = 0;
    this.state.cmd = CMD_READ_ARRAY;
  }

  /** A write: one cycle of a command sequence (QEMU's pflash_write). */
  write(offset: number, size: AccessSize, value: number): void {
    const s = this.state;
    const cmd = value & 0xff;
    switch (s.wcycle) {
      case 0:
        return this.firstCycle(offset, cmd);
      case 1:
        return this.secondCycle(offset, size, value, cmd);
      case 2:
        if (s.cmd !== 0xe8) return this.readArray();
        if (this.readOnly) s.status |= 0x10;
        else this.dataWrite(offset, size, value);
        s.status |= 0x80;
        if (s.counter === 0n) {
          s.wcycle++;
          if (this.readOnly) s.status |= 0x10;
        }
        s.counter = (s.counter - 1n) & U64;
        return;
      case 3:
        if (s.cmd === 0xe8 && cmd === 0xd0) {
          s.wcycle = 0;
          s.status |= 0x80;
          return;
        }
        return this.readArray();
      default:
        return this.readArray();
    }
  }

  private firstCycle(offset: number, cmd: number): void {
    const s = this.state;
    switch (cmd) {
      case 0x00:
      case 0xf0:
      case 0xff:
        return this.readArray();
      case 0x10:
      case 0x40:
      case 0x60:
      case 0x98:
        break;
      case 0x20: {
        const start = offset & ~(this.sectorLen - 1);
        if (this.readOnly) s.status |= 0x20;
        else {
          const end = Math.min(start + this.sectorLen, this.storage.length);
          this.storage.fill(0xff, start, end);
          this.markDirty(start, end);
        }
        s.status |= 0x80;
        break;
      }
      case 0x50:
        s.status = 0;
        return this.readArray();
      case 0x70:
      case 0x90:
        s.cmd = cmd;
        return;
      case 0xe8:
        s.status |= 0x80;
        break;
      default:
        return this.readArray();
    }
    s.wcycle++;
    s.cmd = cmd;
  }

  private secondCycle(offset: number, size: AccessSize, value: number, cmd: number): void {
    const s = this.state;
    switch (s.cmd) {
      case 0x10:
      case 0x40:
        if (this.readOnly) s.status |= 0x10;
        else this.dataWrite(offset, size, value);
        s.status |= 0x80;
        s.wcycle = 0;
        return;
      case 0x20:
      case 0x28:
        if (cmd !== 0xd0) return this.readArray();
        s.wcycle = 0;
        s.status |= 0x80;
        return;
      case 0xe8: {
        const bits = this.deviceWidth * 8;
        s.counter = BigInt((value >>> 0) & (bits === 32 ? 0xffffffff : (1 << bits) - 1));
        s.wcycle++;
        return;
      }
      case 0x60:
        if (cmd !== 0xd0 && cmd !== 0x01) return this.readArray();
        s.wcycle = 0;
        s.status |= 0x80;
        return;
      case 0x98:
        if (cmd === 0xff) this.readArray();
        return;
      default:
        return this.readArray();
    }
  }

  /** Bytes one write-to-buffer covers (QEMU's writeblock_size), for callers that flush. */
  get writeBlockSize(): number {
    return this.writeblockSize;
  }

  // ---- snapshot ----

  /** Section `pflash_cfi01`, instance 0 for flash0 and 1 for flash1. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstatePflash,
      instanceId: this.instanceId,
      state: () => this.state,
      commit: (staged: PflashState) => {
        this.state = staged;
      },
    }];
  }
}

// ---- migration ----

/** Checks a loaded flash state is one QEMU's state machine can reach. */
export function validatePflash(s: PflashState): void {
  if (!KNOWN_CMDS.has(s.cmd)) {
    throw new StateValidationError(`cmd 0x${s.cmd.toString(16)} is not a flash command`);
  }
  if (s.wcycle > 3) throw new StateValidationError(`wcycle ${s.wcycle} is above 3`);
  if (s.status & ~STATUS_BITS) {
    throw new StateValidationError(
      `status 0x${s.status.toString(16)} has bits other than 0x80/0x20/0x10`,
    );
  }
  if (s.wcycle >= 2 && s.cmd !== 0xe8) {
    throw new StateValidationError(
      `wcycle ${s.wcycle} only exists in a write-to-buffer (cmd 0xe8), not cmd 0x${
        s.cmd.toString(16)
      }`,
    );
  }
  if (s.wcycle === 1 && [0x00, 0x50, 0x70, 0x90].includes(s.cmd)) {
    throw new StateValidationError(`cmd 0x${s.cmd.toString(16)} never waits for a second cycle`);
  }
  if (s.wcycle === 2 && s.counter > 0xffffn) {
    throw new StateValidationError(`write-to-buffer counter ${s.counter} is above 0xffff`);
  }
}

/** Section `pflash_cfi01` v1, QEMU 7.2's `vmstate_pflash`. */
export const vmstatePflash = vmsd<PflashState>({
  name: "pflash_cfi01",
  versionId: 1,
  minimumVersionId: 1,
  postLoad(s) {
    validatePflash(s);
  },
  fields: [
    uint8("wcycle"),
    uint8("cmd"),
    uint8("status"),
    uint64("counter"),
  ],
});
