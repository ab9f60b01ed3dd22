/**
 * Where QEMU 7.2's virt machine puts firmware, kernel, initrd and device tree in RAM for an rv32
 * hart (hw/riscv/boot.c): the firmware at the start of RAM, the kernel at the next 4 MiB
 * boundary after it, the initrd half way into RAM (at most 128 MiB after the kernel) and the tree
 * in the last 2 MiB-aligned slot below min(RAM end, 3 GiB) that fits QEMU's 1 MiB tree buffer.
 * @module
 */

const MiB = 1024 * 1024;

/** Alignment of the kernel after the firmware on rv32 (`riscv_calc_kernel_start_addr`). */
export const KERNEL_ALIGN_RV32 = 4 * MiB;
/** QEMU sizes the device tree by its 1 MiB build buffer (FDT_MAX_SIZE), before packing it. */
export const QEMU_FDT_BUFFER = 1 * MiB;
/** The tree is placed below this address (addressable by 32-bit harts). */
const FDT_CEILING = 3072 * MiB;
/** Alignment of the tree's address. */
const FDT_ALIGN = 2 * MiB;

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number) => Math.floor(v / a) * a;

/** `riscv_calc_kernel_start_addr` for rv32: the first 4 MiB boundary at or after the firmware's end. */
export function kernelStart(firmwareEnd: number): number {
  return alignUp(firmwareEnd, KERNEL_ALIGN_RV32);
}

/** `riscv_load_initrd`: kernel entry + min(RAM size / 2, 128 MiB). */
export function initrdStart(kernelEntry: number, ramSize: number): number {
  return kernelEntry + Math.min(Math.floor(ramSize / 2), 128 * MiB);
}

/** `riscv_load_fdt`: 2 MiB-aligned, `fdtSize` below min(RAM end, 3 GiB). */
export function fdtAddress(ramBase: number, ramSize: number, fdtSize = QEMU_FDT_BUFFER): number {
  const end = ramBase + ramSize;
  const top = ramBase < FDT_CEILING ? Math.min(end, FDT_CEILING) : end;
  return alignDown(top - fdtSize, FDT_ALIGN);
}
