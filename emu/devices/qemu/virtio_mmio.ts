/**
 * QEMU 7.2 riscv virt's eight `virtio-mmio` transports (0x10001000 + n × 0x1000, PLIC sources
 * 1..8) with no backend plugged in, as QEMU creates them for every `-M virt`: each decodes 0x200
 * bytes (QEMU's iomem region; the rest of the 4 KiB slot is unmapped and faults) and, with no
 * device, answers only the magic value "virt", the version (1: `force-legacy` is on by default in
 * 7.2) and the vendor id "QEMU" at those exact offsets; every other read is 0 and writes are
 * ignored (hw/virtio/virtio-mmio.c, virtio_mmio_read/write with `!vdev`). An empty transport
 * sends no migration section.
 * @module
 */
import type { AccessSize, MmioDevice } from "../../bus.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** QEMU virt: the first transport (VIRT_VIRTIO). */
export const VIRT_VIRTIO_BASE = 0x1000_1000;
/** Distance between transports, and the size each slot has in the device tree. */
export const VIRT_VIRTIO_STRIDE = 0x1000;
/** Number of transports (VIRTIO_COUNT). */
export const VIRT_VIRTIO_COUNT = 8;
/** PLIC source of the first transport (VIRTIO_IRQ); transport n drives VIRTIO_IRQ + n. */
export const VIRT_VIRTIO_IRQ = 1;
/** Bytes each transport decodes (QEMU's `virtio-mmio` iomem region). */
export const VIRTIO_MMIO_REGION_SIZE = 0x200;

/** "virt", little-endian (VIRT_MAGIC). */
const MAGIC = 0x7472_6976;
/** "QEMU" (VIRT_VENDOR). */
const VENDOR = 0x554d_4551;
/** Register offsets QEMU answers without a backend. */
const REG_MAGIC = 0x000;
const REG_VERSION = 0x004;
const REG_VENDOR = 0x00c;

/** One virtio-mmio transport with nothing behind it. */
export class VirtioMmioTransport implements MmioDevice, SnapshotDevice {
  /** Version register: 1 (legacy, QEMU 7.2's `force-legacy=on` default) or 2. */
  readonly version: 1 | 2;

  constructor(opts: { legacy?: boolean } = {}) {
    this.version = opts.legacy === false ? 2 : 1;
  }

  /** Magic, version and vendor at their exact offsets (any size, truncated); 0 elsewhere. */
  read(offset: number, size: AccessSize): number {
    let v = 0;
    if (offset === REG_MAGIC) v = MAGIC;
    else if (offset === REG_VERSION) v = this.version;
    else if (offset === REG_VENDOR) v = VENDOR;
    return size === 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  /** Ignored with no backend. */
  write(_offset: number, _size: AccessSize, _value: number): void {}

  /** No section while empty (QEMU sends none). */
  sections(): DeviceSection[] {
    return [];
  }
}
