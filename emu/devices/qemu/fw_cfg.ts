/**
 * QEMU's firmware configuration device as riscv `virt` maps it (`fw_cfg_init_mem_wide` at
 * 0x10100000): data register at +0 (string order, any width at offset 0), selector at +8
 * (16-bit big-endian writes only), DMA address at +0x10 (big-endian; reads give "QEMU CFG").
 * The items are the ones QEMU 7.2's virt exposes to a guest without a disk: signature, id
 * (traditional + DMA), uuid, nographic, boot menu, CPU count and the file directory with
 * `bios-geometry`, `bootorder` and `etc/boot-fail-wait`.
 *
 * Section `fw_cfg` v2 (min 1) with subsection `fw_cfg/dma` (v0), QEMU's `vmstate_fw_cfg`.
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import { uint16, uint32, uint64, vmsd } from "../../../migration/vmstate/fields.ts";
import type { AccessSize, MmioDevice } from "../../bus.ts";
import { BusError } from "../../errors.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** QEMU virt: fw_cfg's MMIO window. */
export const VIRT_FW_CFG_BASE = 0x1010_0000;
/** Size of fw_cfg's window on virt. */
export const VIRT_FW_CFG_SIZE = 0x18;

/** Item keys (include/standard-headers/linux/qemu_fw_cfg.h). */
export const FW_CFG = {
  SIGNATURE: 0x00,
  ID: 0x01,
  UUID: 0x02,
  NOGRAPHIC: 0x04,
  NB_CPUS: 0x05,
  BOOT_MENU: 0x0e,
  FILE_DIR: 0x19,
  FILE_FIRST: 0x20,
  WRITE_CHANNEL: 0x4000,
  ARCH_LOCAL: 0x8000,
  ENTRY_MASK: 0x3fff,
  INVALID: 0xffff,
} as const;

/** File slots of QEMU >= 2.? machines (fw_cfg_file_slots): keys 0x20..0x3f. */
export const FILE_SLOTS = 0x20;
/** Bytes of a file name in the directory. */
export const MAX_FILE_PATH = 56;
/** DMA control bits. */
export const DMA_CTL = { ERROR: 0x01, READ: 0x02, SKIP: 0x04, SELECT: 0x08, WRITE: 0x10 } as const;
/** The DMA register's read value, "QEMU CFG". */
export const DMA_SIGNATURE = 0x51454d5520434647n;

const U64 = (1n << 64n) - 1n;

/** fw_cfg's migrated state (QEMU's FWCfgState fields in `vmstate_fw_cfg`). */
export interface FwCfgState {
  /** Selected key, 0xffff when none. */
  curEntry: number;
  /** Read position in the selected item. */
  curOffset: number;
  /** DMA descriptor address being assembled (high half written, low half pending). */
  dmaAddr: bigint;
}

/** Reset state: signature selected, offset 0 (QEMU's fw_cfg_reset selects key 0). */
export function createFwCfgState(): FwCfgState {
  return { curEntry: FW_CFG.SIGNATURE, curOffset: 0, dmaAddr: 0n };
}

/** Guest memory as fw_cfg's DMA sees it. */
export interface FwCfgDma {
  /** `len` bytes at `addr`, or null when the range is not memory. */
  read(addr: number, len: number): Uint8Array | null;
  /** Writes `bytes` at `addr`; false when the range is not memory. */
  write(addr: number, bytes: Uint8Array): boolean;
}

/** What the machine tells fw_cfg. */
export interface FwCfgOptions {
  /** Absolute base, for the addresses of access faults (default virt's). */
  base?: number;
  /** Number of harts (FW_CFG_NB_CPUS). */
  cpus?: number;
  /** QEMU ran with -nographic (FW_CFG_NOGRAPHIC). */
  nographic?: boolean;
  /** Guest memory for DMA; without it a DMA request reports an error. */
  dma?: FwCfgDma;
}

function le(v: number, bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (v >>> (8 * i)) & 0xff;
  return b;
}

/** The items QEMU 7.2's virt registers, by key (files sorted by name, as QEMU inserts them). */
export function virtItems(cpus = 1, nographic = false): Map<number, Uint8Array> {
  const items = new Map<number, Uint8Array>();
  items.set(FW_CFG.SIGNATURE, new TextEncoder().encode("QEMU"));
  items.set(FW_CFG.ID, le(0x3, 4)); // FW_CFG_VERSION | FW_CFG_VERSION_DMA
  items.set(FW_CFG.UUID, new Uint8Array(16));
  items.set(FW_CFG.NOGRAPHIC, le(nographic ? 1 : 0, 2));
  items.set(FW_CFG.BOOT_MENU, le(0, 2));
  items.set(FW_CFG.NB_CPUS, le(cpus, 2));
  const files: [string, Uint8Array][] = [
    ["bios-geometry", new Uint8Array(0)],
    ["bootorder", new Uint8Array(0)],
    ["etc/boot-fail-wait", le(0xffffffff, 4)], // reboot-timeout -1
  ];
  const dir = new Uint8Array(4 + FILE_SLOTS * 64);
  const view = new DataView(dir.buffer);
  view.setUint32(0, files.length);
  files.forEach(([name, data], i) => {
    const at = 4 + i * 64;
    view.setUint32(at, data.length);
    view.setUint16(at + 4, FW_CFG.FILE_FIRST + i);
    dir.set(new TextEncoder().encode(name), at + 8);
    items.set(FW_CFG.FILE_FIRST + i, data);
  });
  items.set(FW_CFG.FILE_DIR, dir);
  return items;
}

/** The firmware configuration device. */
export class FwCfg implements MmioDevice, SnapshotDevice {
  /** Live state. */
  state: FwCfgState = createFwCfgState();
  /** Items by key. */
  readonly items: Map<number, Uint8Array>;
  private readonly base: number;
  private readonly dma?: FwCfgDma;

  constructor(opts: FwCfgOptions = {}) {
    this.base = opts.base ?? VIRT_FW_CFG_BASE;
    this.items = virtItems(opts.cpus ?? 1, opts.nographic ?? false);
    this.dma = opts.dma;
  }

  /** Reset: the signature is selected again. */
  reset(): void {
    this.state = createFwCfgState();
  }

  /** The selected item's bytes, or undefined (invalid key or nothing stored there). */
  private current(): Uint8Array | undefined {
    const k = this.state.curEntry;
    return k === FW_CFG.INVALID ? undefined : this.items.get(k & ~FW_CFG.WRITE_CHANNEL);
  }

  /** Selects `key` (QEMU's fw_cfg_select): keys past the file slots select nothing. */
  select(key: number): void {
    this.state.curOffset = 0;
    this.state.curEntry = (key & FW_CFG.ENTRY_MASK) >= FW_CFG.FILE_FIRST + FILE_SLOTS
      ? FW_CFG.INVALID
      : key & 0xffff;
  }

  private fault(offset: number, isWrite: boolean): never {
    throw new BusError((this.base + offset) >>> 0, isWrite);
  }

  // ---- MMIO ----

  /** Data (string order, zero padding past the end) or the DMA signature. */
  read(offset: number, size: AccessSize): number {
    if (offset === 0) return this.dataRead(size);
    if (offset >= 0x10 && offset + size <= 0x18) {
      const shift = BigInt((8 - (offset - 0x10) - size) * 8);
      const v = Number((DMA_SIGNATURE >> shift) & ((1n << BigInt(size * 8)) - 1n));
      return bswap(v, size);
    }
    return this.fault(offset, false);
  }

  private dataRead(size: AccessSize): number {
    const s = this.state;
    const e = this.current();
    let r = 0;
    if (!e || s.curOffset >= e.length) return 0;
    for (let i = 0; i < size && s.curOffset < e.length; i++) r |= e[s.curOffset++] << (8 * i);
    return r >>> 0;
  }

  /** Selector writes, ignored data writes, DMA address writes that start a transfer. */
  write(offset: number, size: AccessSize, value: number): void {
    if (offset === 0) return; // data writes are ignored since QEMU 2.4
    if (offset === 8 && size === 2) return this.select(bswap(value, 2));
    if (offset === 0x10 && size === 4) {
      this.state.dmaAddr = BigInt(bswap(value, 4)) << 32n;
      return;
    }
    if (offset === 0x14 && size === 4) {
      this.state.dmaAddr = (this.state.dmaAddr | BigInt(bswap(value, 4))) & U64;
      return this.dmaTransfer();
    }
    return this.fault(offset, true);
  }

  /** Runs the descriptor at dma_addr (QEMU's fw_cfg_dma_transfer), status written back. */
  private dmaTransfer(): void {
    const s = this.state;
    const at = Number(s.dmaAddr);
    s.dmaAddr = 0n;
    const desc = this.dma?.read(at, 16);
    if (!desc) {
      this.dma?.write(at, be32(DMA_CTL.ERROR));
      return;
    }
    const dv = new DataView(desc.buffer, desc.byteOffset, 16);
    let control = dv.getUint32(0);
    let length = dv.getUint32(4);
    let address = Number(dv.getBigUint64(8));
    if (control & DMA_CTL.SELECT) this.select(control >>> 16);
    const read = (control & DMA_CTL.READ) !== 0;
    const write = !read && (control & DMA_CTL.WRITE) !== 0;
    if (!read && !write && !(control & DMA_CTL.SKIP)) length = 0;
    control = 0;
    const e = this.current();
    while (length > 0 && !(control & DMA_CTL.ERROR)) {
      let len: number;
      if (!e || s.curOffset >= e.length) {
        len = length;
        if (read && !this.dma!.write(address, new Uint8Array(len))) control |= DMA_CTL.ERROR;
        if (write) control |= DMA_CTL.ERROR;
      } else {
        len = Math.min(length, e.length - s.curOffset);
        if (read && !this.dma!.write(address, e.subarray(s.curOffset, s.curOffset + len))) {
          control |= DMA_CTL.ERROR;
        }
        if (write) control |= DMA_CTL.ERROR; // no item of virt's is guest-writable
        s.curOffset += len;
      }
      address += len;
      length -= len;
    }
    this.dma!.write(at, be32(control));
  }

  // ---- snapshot ----

  /** Section `fw_cfg`. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateFwCfg,
      state: () => this.state,
      commit: (staged: FwCfgState) => {
        this.state = staged;
      },
    }];
  }
}

/** Item lengths of virt (they do not depend on the CPU count or -nographic). */
const VIRT_ITEM_LENGTHS = new Map([...virtItems()].map(([k, v]) => [k, v.length]));

/** Checks a loaded selection and position can be reached on virt's items. */
export function validateFwCfg(s: FwCfgState): void {
  const key = s.curEntry;
  if (key === FW_CFG.INVALID) {
    if (s.curOffset !== 0) {
      throw new StateValidationError(`cur_offset ${s.curOffset} with no item selected`);
    }
    return;
  }
  if ((key & FW_CFG.ENTRY_MASK) >= FW_CFG.FILE_FIRST + FILE_SLOTS) {
    throw new StateValidationError(
      `cur_entry 0x${key.toString(16)} is past the last file slot and not 0xffff`,
    );
  }
  const len = VIRT_ITEM_LENGTHS.get(key & ~FW_CFG.WRITE_CHANNEL) ?? 0;
  if (s.curOffset > len) {
    throw new StateValidationError(
      `cur_offset ${s.curOffset} is past the end of item 0x${key.toString(16)} (${len} bytes)`,
    );
  }
}

function bswap(v: number, size: number): number {
  let r = 0;
  for (let i = 0; i < size; i++) r = (r << 8) | ((v >>> (8 * i)) & 0xff);
  return r >>> 0;
}

function be32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}

const dmaSub = vmsd<FwCfgState>({
  name: "fw_cfg/dma",
  versionId: 0,
  minimumVersionId: 0,
  needed: () => true, // virt always creates the DMA interface
  fields: [uint64("dma_addr", { key: "dmaAddr" })],
});

/** Section `fw_cfg` v2 (min 1), QEMU 7.2's `vmstate_fw_cfg` (the acpi_mr subsection is never needed on virt). */
export const vmstateFwCfg = vmsd<FwCfgState>({
  name: "fw_cfg",
  versionId: 2,
  minimumVersionId: 1,
  postLoad(s) {
    validateFwCfg(s);
  },
  fields: [
    uint16("cur_entry", { key: "curEntry" }),
    uint16("cur_offset", { key: "curOffset", exists: (_s, v) => v === 1 }),
    uint32("cur_offset", { key: "curOffset", version: 2 }),
  ],
  subsections: [dmaSub],
});
