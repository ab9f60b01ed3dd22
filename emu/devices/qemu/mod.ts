/**
 * The devices and sections QEMU 7.2's riscv32 `virt` has and snapshell's default `virt` does
 * not: the two CFI flash banks, fw_cfg, the PCIe host with its empty bus and windows, the eight
 * empty virtio-mmio transports, and the sections that belong to QEMU's machinery rather than a
 * device (`timer`, `globalstate`, `slirp`). They are
 * the parts a `qemu-virt` machine profile wires next to the shared devices in `emu/devices/`;
 * docs/qemu-interop.md lists each section, what is checked on load, and the differences.
 * @module
 */
export * from "./pflash_cfi01.ts";
export * from "./fw_cfg.ts";
export * from "./gpex.ts";
export * from "./global_state.ts";
export * from "./cpu_timers.ts";
export * from "./slirp.ts";
export * from "./virtio_mmio.ts";
