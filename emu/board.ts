/**
 * The `virt` board's memory map: for each device, its name, what kind of device it is (a
 * device-tree-style compatible string), where the bus maps it and which PLIC source it drives.
 * This table is the one place those facts live: the virt machine builds its bus map from it, and
 * a device tree can be generated from it. The demo guest's C headers (`emu/guests/rt/rt.h`) keep
 * their own copy, which a test checks against this one.
 * @module
 */
import { ACLINT_SIZE } from "./devices/aclint.ts";
import {
  VIRT_FLASH0_BASE,
  VIRT_FLASH1_BASE,
  VIRT_FLASH_SIZE,
  VIRT_FW_CFG_BASE,
  VIRT_FW_CFG_SIZE,
  VIRT_PCIE_ECAM_BASE,
  VIRT_PCIE_ECAM_SIZE,
  VIRT_PCIE_MMIO_BASE,
  VIRT_PCIE_MMIO_SIZE,
  VIRT_PCIE_PIO_BASE,
  VIRT_PCIE_PIO_SIZE,
  VIRT_VIRTIO_BASE,
  VIRT_VIRTIO_COUNT,
  VIRT_VIRTIO_IRQ,
  VIRT_VIRTIO_STRIDE,
  VIRTIO_MMIO_REGION_SIZE,
} from "./devices/qemu/mod.ts";
import { MROM_BASE, MROM_SIZE } from "./boot/reset_rom.ts";
import { NVME_SIZE } from "./devices/nvme.ts";
import { RAM_BASE } from "./ram.ts";

/** One device of the board: a plain record, so other tools (a device tree) can read it. */
export interface BoardDevice {
  /** Name of the device on the bus and in the shell (`uart0`). */
  readonly name: string;
  /** Device-tree-style compatible string (`ns16550a`). */
  readonly kind: string;
  /** First guest physical address of its MMIO window. */
  readonly base: number;
  /** Size of the window in bytes. */
  readonly size: number;
  /** PLIC source it drives, when it has an interrupt line. */
  readonly irq?: number;
}

/** The virt board's devices by role, in the order the machine attaches them (= section ids). */
export const VIRT_BOARD = {
  /** sifive_test: poweroff / reboot (QEMU virt). */
  finisher: { name: "sifive_test", kind: "sifive,test0", base: 0x0010_0000, size: 0x1000 },
  /** Goldfish RTC (QEMU virt). */
  rtc: {
    name: "goldfish_rtc",
    kind: "google,goldfish-rtc",
    base: 0x0010_1000,
    size: 0x1000,
    irq: 11,
  },
  /** ACLINT: mtime, mtimecmp, msip (QEMU virt's CLINT window). */
  aclint: { name: "aclint", kind: "riscv,clint0", base: 0x0200_0000, size: ACLINT_SIZE },
  /** PLIC (QEMU 7.2 virt: 0x200000 + 1024 contexts * 0x1000). */
  plic: { name: "plic", kind: "sifive,plic-1.0.0", base: 0x0c00_0000, size: 0x60_0000 },
  /** NS16550A UART 0 (QEMU virt). */
  uart0: { name: "uart0", kind: "ns16550a", base: 0x1000_0000, size: 0x100, irq: 10 },
  /** Our NVMe-style queue device (QEMU's virt has fw_cfg there, which we do not model). */
  nvme: {
    name: "nvme",
    kind: "snapshell,nvme-queues",
    base: 0x1010_0000,
    size: NVME_SIZE,
    irq: 12,
  },
} as const satisfies Record<string, BoardDevice>;

/**
 * The `qemu-virt` profile's board: QEMU 7.2's riscv32 virt, device for device. The shared
 * devices sit where `virt` has them; fw_cfg replaces our NVMe-style device at 0x10100000, and
 * the mrom, both flash banks and the PCIe ECAM window are QEMU's.
 */
export const QEMU_VIRT_BOARD = {
  /** The reset ROM (`riscv_virt_board.mrom`): QEMU's reset stub and fw_dynamic info. */
  mrom: { name: "mrom", kind: "qemu,mrom", base: MROM_BASE, size: MROM_SIZE },
  finisher: VIRT_BOARD.finisher,
  rtc: VIRT_BOARD.rtc,
  aclint: VIRT_BOARD.aclint,
  plic: VIRT_BOARD.plic,
  uart0: VIRT_BOARD.uart0,
  /** fw_cfg (QEMU virt's `fw-cfg@10100000`). */
  fwCfg: {
    name: "fw_cfg",
    kind: "qemu,fw-cfg-mmio",
    base: VIRT_FW_CFG_BASE,
    size: VIRT_FW_CFG_SIZE,
  },
  /** CFI flash bank 0 (`virt.flash0`). */
  flash0: { name: "flash0", kind: "cfi-flash", base: VIRT_FLASH0_BASE, size: VIRT_FLASH_SIZE },
  /** CFI flash bank 1 (`virt.flash1`). */
  flash1: { name: "flash1", kind: "cfi-flash", base: VIRT_FLASH1_BASE, size: VIRT_FLASH_SIZE },
  /** The PCIe host's ECAM window (gpex). */
  pcie: {
    name: "pcie",
    kind: "pci-host-ecam-generic",
    base: VIRT_PCIE_ECAM_BASE,
    size: VIRT_PCIE_ECAM_SIZE,
  },
  /** The PCIe host's I/O port window (nothing behind it: all ones). */
  pciePio: {
    name: "pcie-pio",
    kind: "pci-host-ecam-generic",
    base: VIRT_PCIE_PIO_BASE,
    size: VIRT_PCIE_PIO_SIZE,
  },
  /** The PCIe host's 32-bit memory window (nothing behind it: all ones). */
  pcieMmio: {
    name: "pcie-mmio",
    kind: "pci-host-ecam-generic",
    base: VIRT_PCIE_MMIO_BASE,
    size: VIRT_PCIE_MMIO_SIZE,
  },
} as const satisfies Record<string, BoardDevice>;

/**
 * QEMU virt's eight virtio-mmio transports (`virtio0`..`virtio7`), in QEMU's creation order: each
 * decodes {@link VIRTIO_MMIO_REGION_SIZE} bytes of its 4 KiB slot and drives PLIC source 1..8.
 */
export const QEMU_VIRT_VIRTIO: readonly BoardDevice[] = Array.from(
  { length: VIRT_VIRTIO_COUNT },
  (_, i) => ({
    name: `virtio${i}`,
    kind: "virtio,mmio",
    base: VIRT_VIRTIO_BASE + i * VIRT_VIRTIO_STRIDE,
    size: VIRTIO_MMIO_REGION_SIZE,
    irq: VIRT_VIRTIO_IRQ + i,
  }),
);

/** The virt board's devices as a list, in attach order (listings, device trees). */
export const VIRT_DEVICES: readonly BoardDevice[] = Object.values(VIRT_BOARD);

/** QEMU virt's DRAM base (RAM's own constant, named here for one view of the memory map). */
export const DRAM_BASE = RAM_BASE;
