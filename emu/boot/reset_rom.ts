/**
 * The reset ROM of QEMU 7.2's virt machine (hw/riscv/boot.c `riscv_setup_rom_reset_vec` and
 * `riscv_rom_copy_firmware_info`, rv32 flavour): six instructions at 0x1000 that pass the hart id
 * (a0), the device tree address (a1) and the `fw_dynamic` info block (a2) to the firmware, then
 * jump to it. Also the ROM device that holds it on the bus.
 * @module
 */
import type { AccessSize, MmioDevice } from "../bus.ts";
import type { SnapshotDevice } from "../devices/device.ts";

/** QEMU virt's mask ROM (VIRT_MROM): base. */
export const MROM_BASE = 0x1000;
/** QEMU virt's mask ROM: size. */
export const MROM_SIZE = 0xf000;

/** `fw_dynamic_info.magic` ("OSBI"). */
export const FW_DYNAMIC_INFO_MAGIC = 0x4942534f;
/** `fw_dynamic_info.version` QEMU 7.2 writes. */
export const FW_DYNAMIC_INFO_VERSION = 2;
/** `fw_dynamic_info.next_mode` values. */
export const FW_DYNAMIC_NEXT_MODE = { U: 0, S: 1, M: 3 } as const;

/** Bytes of the reset vector (ten words); the info block follows it. */
export const RESET_VEC_SIZE = 40;
/** Bytes of the rv32 `fw_dynamic_info` (six 32-bit fields). */
export const FW_DYNAMIC_INFO_SIZE = 24;

/**
 * The ten reset-vector words for an rv32 hart: auipc t0 / addi a2,t0,40 / csrr a0,mhartid /
 * lw a1,32(t0) / lw t0,24(t0) / jr t0, then the start address and device tree address as dwords.
 */
export function resetVector(startAddr: number, fdtAddr: number): Uint32Array {
  return Uint32Array.of(
    0x00000297, // 1: auipc t0, %pcrel_hi(fw_dyn)
    0x02828613, //    addi  a2, t0, %pcrel_lo(1b)
    0xf1402573, //    csrr  a0, mhartid
    0x0202a583, //    lw    a1, 32(t0)
    0x0182a283, //    lw    t0, 24(t0)
    0x00028067, //    jr    t0
    startAddr >>> 0, // start: .dword
    0,
    fdtAddr >>> 0, // fdt_laddr: .dword
    0,
  );
}

/** The rv32 `fw_dynamic_info` words: magic, version, next_addr, next_mode (S), options 0, boot_hart 0. */
export function fwDynamicInfo(nextAddr: number): Uint32Array {
  return Uint32Array.of(
    FW_DYNAMIC_INFO_MAGIC,
    FW_DYNAMIC_INFO_VERSION,
    nextAddr >>> 0,
    FW_DYNAMIC_NEXT_MODE.S,
    0,
    0,
  );
}

/** The ROM's contents as QEMU 7.2 lays them out: reset vector at +0, fw_dynamic info at +40. */
export function resetRomImage(startAddr: number, fdtAddr: number, kernelEntry: number): Uint8Array {
  const out = new Uint8Array(RESET_VEC_SIZE + FW_DYNAMIC_INFO_SIZE);
  const dv = new DataView(out.buffer);
  const words = [...resetVector(startAddr, fdtAddr), ...fwDynamicInfo(kernelEntry)];
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}

/**
 * Read-only memory on the bus (writes are ignored, as QEMU's ROM regions do). Its contents are
 * rebuilt by the boot code from the boot options, so it adds no snapshot section.
 */
export class RomDevice implements MmioDevice, SnapshotDevice {
  /** The ROM's bytes (zero past the loaded image). */
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  /** A zero-filled ROM of `size` bytes. */
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Replaces the contents from offset 0 (the rest is zeroed). */
  load(image: Uint8Array): void {
    if (image.length > this.bytes.length) {
      throw new RangeError(`ROM image of ${image.length} bytes exceeds ${this.bytes.length}`);
    }
    this.bytes.fill(0);
    this.bytes.set(image);
  }

  /** Little-endian read. */
  read(offset: number, size: AccessSize): number {
    if (size === 4) return this.view.getUint32(offset, true);
    if (size === 2) return this.view.getUint16(offset, true);
    return this.bytes[offset];
  }

  /** Writes to ROM are dropped. */
  write(_offset: number, _size: AccessSize, _value: number): void {}

  /** No migrated state. */
  sections(): [] {
    return [];
  }
}
