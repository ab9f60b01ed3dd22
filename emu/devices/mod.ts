/**
 * The devices of snapshell's `virt` machine. Each file holds one device: its behaviour class
 * (MMIO `read`/`write`, wiring passed at construction), its plain state record with reset
 * values, and its VMState description at the bottom.
 *
 * @example
 * ```ts
 * import { SectionRegistry } from "../../migration/sections/registry.ts";
 * import { registerSections, SifivePlic, Uart16550 } from "./mod.ts";
 *
 * let ns = 0n;
 * const plic = new SifivePlic({ contexts: [(_l) => {}, (_l) => {}] });
 * const uart = new Uart16550({ clock: () => ns, irq: plic.irqLine(10), output: (_b) => {} });
 * const reg = new SectionRegistry();
 * registerSections(reg, uart);
 * registerSections(reg, plic);
 * ```
 * @module
 */
export * from "./device.ts";
export * from "./uart16550.ts";
export * from "./aclint.ts";
export * from "./sifive_plic.ts";
export * from "./sifive_test.ts";
export * from "./goldfish_rtc.ts";
export * from "./nvme.ts";
