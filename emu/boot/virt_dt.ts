/**
 * The virt machine's device tree, generated from the machine's own device table (name, base,
 * size, irq) so that it can never disagree with the bus. Nodes follow QEMU 7.2's `virt` tree for
 * the devices we have (same node names, compatibles, phandle order) minus the random `rng-seed`,
 * so Linux binds the same drivers; the bytes depend only on the inputs.
 * @module
 */
import { buildDtb, cells64, FdtError, FdtNode } from "./fdt.ts";
import {
  PCI_NUM_PINS,
  VIRT32_HIGH_PCIE_MMIO_BASE,
  VIRT32_HIGH_PCIE_MMIO_SIZE,
  VIRT_PCIE_IRQ,
  VIRT_PCIE_MMIO_BASE,
  VIRT_PCIE_MMIO_SIZE,
  VIRT_PCIE_PIO_BASE,
  VIRT_PCIE_PIO_SIZE,
  VIRT_VIRTIO_COUNT,
  VIRT_VIRTIO_STRIDE,
} from "../devices/qemu/mod.ts";

/** One entry of the machine's device table. */
export interface DeviceTableEntry {
  /** Device name as attached to the bus ("uart0", "plic", ...). */
  readonly name: string;
  /** First guest physical address of its MMIO window. */
  readonly base: number;
  /** Size of the window in bytes. */
  readonly size: number;
  /** PLIC source, for devices that interrupt through the PLIC. */
  readonly irq?: number;
}

/** Inputs of the tree. */
export interface VirtDtOptions {
  /** Start of RAM (0x80000000). */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
  /** The machine's devices (any order; nodes follow the table's order). */
  devices: readonly DeviceTableEntry[];
  /** Kernel command line (`/chosen/bootargs`), when given. */
  bootargs?: string;
  /** Initrd placement (`/chosen/linux,initrd-start` and `-end`), when one is loaded. */
  initrd?: { start: number; end: number };
  /** `riscv,isa` of the hart (default rv32ima_zicsr_zifencei). */
  isa?: string;
  /** `mmu-type` of the hart (default "riscv,sv32"; null leaves it out). */
  mmuType?: string | null;
  /** Timer frequency (default 10 MHz: `time` counts 100 ns steps of virtual time). */
  timebaseHz?: number;
  /** `riscv,ndev` of the PLIC (default 96: QEMU 7.2 writes its source count, VIRTIO_NDEV). */
  plicNdev?: number;
}

/** Default `riscv,isa` string (QEMU 7.2 with `-cpu rv32,f=off,d=off,c=off,...`). */
export const VIRT_ISA = "rv32ima_zicsr_zifencei";
/** Timebase of the `time` CSR and the ACLINT mtimer. */
export const VIRT_TIMEBASE_HZ = 10_000_000;
/** UART input clock QEMU's virt advertises (3.6864 MHz). */
export const UART_CLOCK_HZ = 3_686_400;
/** sifive_test values for poweroff and reboot (syscon-poweroff / syscon-reboot). */
export const TEST_POWEROFF = 0x5555;
/** See {@link TEST_POWEROFF}. */
export const TEST_RESET = 0x7777;

// Phandles in QEMU 7.2's order: cpu, its interrupt controller, PLIC, sifive_test.
const PH_CPU = 1;
const PH_INTC = 2;
const PH_PLIC = 3;
const PH_TEST = 4;
// Hart-local interrupt numbers (mip bits).
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

// PCI address space codes of a `ranges` entry's first cell (FDT_PCI_RANGE_*).
const PCI_RANGE_IOPORT = 0x0100_0000;
const PCI_RANGE_MMIO = 0x0200_0000;
const PCI_RANGE_MMIO_64BIT = 0x0300_0000;
/** ECAM bytes per bus (PCIE_MMCFG_SIZE_MIN): 32 devices × 8 functions × 4 KiB. */
const PCIE_MMCFG_SIZE_MIN = 0x10_0000;

const hex = (n: number) => (n >>> 0).toString(16);
const reg = (d: DeviceTableEntry) => [...cells64(d.base), ...cells64(d.size)];

function needIrq(d: DeviceTableEntry): number {
  if (d.irq === undefined) {
    throw new FdtError("incompatible", `/soc/${d.name}`, "device needs a PLIC source (irq)");
  }
  return d.irq;
}

/** Writes a device's node(s); keyed by the name the machine attaches the device under. */
type NodeWriter = (soc: FdtNode, root: FdtNode, d: DeviceTableEntry, o: VirtDtOptions) => void;

const WRITERS: Record<string, NodeWriter> = {
  sifive_test(soc, root, d) {
    soc.child(`test@${hex(d.base)}`)
      .prop("phandle", PH_TEST)
      .prop("reg", reg(d))
      .prop("compatible", ["sifive,test1", "sifive,test0", "syscon"]);
    for (const [name, value] of [["poweroff", TEST_POWEROFF], ["reboot", TEST_RESET]] as const) {
      root.child(name)
        .prop("value", value)
        .prop("offset", 0)
        .prop("regmap", PH_TEST)
        .prop("compatible", `syscon-${name}`);
    }
  },
  goldfish_rtc(soc, _root, d) {
    soc.child(`rtc@${hex(d.base)}`)
      .prop("interrupts", needIrq(d))
      .prop("interrupt-parent", PH_PLIC)
      .prop("reg", reg(d))
      .prop("compatible", "google,goldfish-rtc");
  },
  aclint(soc, _root, d) {
    soc.child(`clint@${hex(d.base)}`)
      .prop("interrupts-extended", [PH_INTC, IRQ_M_SOFT, PH_INTC, IRQ_M_TIMER])
      .prop("reg", reg(d))
      .prop("compatible", ["sifive,clint0", "riscv,clint0"]);
  },
  plic(soc, _root, d, o) {
    soc.child(`plic@${hex(d.base)}`)
      .prop("phandle", PH_PLIC)
      .prop("riscv,ndev", o.plicNdev ?? 96)
      .prop("reg", reg(d))
      .prop("interrupts-extended", [PH_INTC, IRQ_M_EXT, PH_INTC, IRQ_S_EXT])
      .prop("interrupt-controller", true)
      .prop("compatible", ["sifive,plic-1.0.0", "riscv,plic0"])
      .prop("#address-cells", 0)
      .prop("#interrupt-cells", 1);
  },
  uart0(soc, _root, d) {
    soc.child(`serial@${hex(d.base)}`)
      .prop("interrupts", needIrq(d))
      .prop("interrupt-parent", PH_PLIC)
      .prop("clock-frequency", UART_CLOCK_HZ)
      .prop("reg", reg(d))
      .prop("compatible", "ns16550a");
  },
  // QEMU 7.2 virt's own devices (the `qemu-virt` profile), as QEMU's tree describes them:
  // fw_cfg and the flash at the root, not under /soc.
  fw_cfg(_soc, root, d) {
    root.child(`fw-cfg@${hex(d.base)}`)
      .prop("dma-coherent", true)
      .prop("reg", reg(d))
      .prop("compatible", "qemu,fw-cfg-mmio");
  },
  flash0(_soc, root, d) {
    // QEMU describes both banks in one node; bank 1 follows bank 0.
    root.child(`flash@${hex(d.base)}`)
      .prop("bank-width", 4)
      .prop("reg", [...reg(d), ...cells64(d.base + d.size), ...cells64(d.size)])
      .prop("compatible", "cfi-flash");
  },
  flash1() {
    // In flash0's node.
  },
  pcie(soc, _root, d) {
    // QEMU's create_fdt_pcie: the ECAM window, the I/O, 32-bit and 64-bit memory windows, and
    // the standard INTx swizzle onto PLIC sources 32..35.
    const map: number[] = [];
    for (let dev = 0; dev < PCI_NUM_PINS; dev++) {
      for (let pin = 0; pin < PCI_NUM_PINS; pin++) {
        map.push(dev << 11, 0, 0, pin + 1, PH_PLIC, VIRT_PCIE_IRQ + (pin + dev) % PCI_NUM_PINS);
      }
    }
    soc.child(`pci@${hex(d.base)}`)
      .prop("interrupt-map-mask", [0x1800, 0, 0, 7])
      .prop("interrupt-map", map)
      .prop("ranges", [
        ...[PCI_RANGE_IOPORT, 0, 0, ...cells64(VIRT_PCIE_PIO_BASE)],
        ...cells64(VIRT_PCIE_PIO_SIZE),
        ...[PCI_RANGE_MMIO, ...cells64(VIRT_PCIE_MMIO_BASE), ...cells64(VIRT_PCIE_MMIO_BASE)],
        ...cells64(VIRT_PCIE_MMIO_SIZE),
        ...[PCI_RANGE_MMIO_64BIT, ...cells64(VIRT32_HIGH_PCIE_MMIO_BASE)],
        ...cells64(VIRT32_HIGH_PCIE_MMIO_BASE),
        ...cells64(VIRT32_HIGH_PCIE_MMIO_SIZE),
      ])
      .prop("reg", reg(d))
      .prop("dma-coherent", true)
      .prop("bus-range", [0, d.size / PCIE_MMCFG_SIZE_MIN - 1])
      .prop("linux,pci-domain", 0)
      .prop("device_type", "pci")
      .prop("compatible", "pci-host-ecam-generic")
      .prop("#size-cells", 2)
      .prop("#interrupt-cells", 1)
      .prop("#address-cells", 3);
  },
  "pcie-pio"() {
    // In the pci node's ranges.
  },
  "pcie-mmio"() {
    // In the pci node's ranges.
  },
  ...Object.fromEntries(
    Array.from({ length: VIRT_VIRTIO_COUNT }, (_, i): [string, NodeWriter] => [
      `virtio${i}`,
      (soc, _root, d) => {
        soc.child(`virtio_mmio@${hex(d.base)}`)
          .prop("interrupts", needIrq(d))
          .prop("interrupt-parent", PH_PLIC)
          .prop("reg", [...cells64(d.base), ...cells64(VIRT_VIRTIO_STRIDE)])
          .prop("compatible", "virtio,mmio");
      },
    ]),
  ),
  nvme(soc, _root, d) {
    // snapshell's own queue device (docs/devices/nvme.md); Linux has no driver for it.
    soc.child(`nvme@${hex(d.base)}`)
      .prop("interrupts", needIrq(d))
      .prop("interrupt-parent", PH_PLIC)
      .prop("reg", reg(d))
      .prop("compatible", "snapshell,nvme-queue");
  },
};

/** Device names the tree knows how to describe. */
export const DESCRIBED_DEVICES: readonly string[] = Object.keys(WRITERS);

/** Builds the tree; every table entry becomes a node (an unknown device name is an error). */
export function virtDeviceTree(o: VirtDtOptions): FdtNode {
  const root = new FdtNode("")
    .prop("#address-cells", 2)
    .prop("#size-cells", 2)
    .prop("compatible", "riscv-virtio")
    .prop("model", "riscv-virtio,qemu");
  const chosen = root.child("chosen");
  root.child(`memory@${hex(o.ramBase)}`)
    .prop("device_type", "memory")
    .prop("reg", [...cells64(o.ramBase), ...cells64(o.ramSize)]);
  const cpus = root.child("cpus")
    .prop("#address-cells", 1)
    .prop("#size-cells", 0)
    .prop("timebase-frequency", o.timebaseHz ?? VIRT_TIMEBASE_HZ);
  const cpu = cpus.child("cpu@0")
    .prop("phandle", PH_CPU)
    .prop("device_type", "cpu")
    .prop("reg", 0)
    .prop("status", "okay")
    .prop("compatible", "riscv")
    .prop("riscv,isa", o.isa ?? VIRT_ISA);
  const mmu = o.mmuType === undefined ? "riscv,sv32" : o.mmuType;
  if (mmu !== null) cpu.prop("mmu-type", mmu);
  cpu.child("interrupt-controller")
    .prop("#interrupt-cells", 1)
    .prop("interrupt-controller", true)
    .prop("compatible", "riscv,cpu-intc")
    .prop("phandle", PH_INTC);
  cpus.child("cpu-map").child("cluster0").child("core0").prop("cpu", PH_CPU);
  const soc = root.child("soc")
    .prop("#address-cells", 2)
    .prop("#size-cells", 2)
    .prop("compatible", "simple-bus")
    .prop("ranges", true);
  let uart: DeviceTableEntry | undefined;
  for (const d of o.devices) {
    const write = WRITERS[d.name];
    if (!write) {
      throw new FdtError(
        "incompatible",
        `/soc/${d.name}`,
        `no device tree description for device "${d.name}" (known: ${
          DESCRIBED_DEVICES.join(", ")
        })`,
      );
    }
    write(soc, root, d, o);
    if (d.name === "uart0") uart = d;
  }
  if (o.bootargs !== undefined) chosen.prop("bootargs", o.bootargs);
  if (o.initrd) {
    chosen.prop("linux,initrd-start", o.initrd.start >>> 0);
    chosen.prop("linux,initrd-end", o.initrd.end >>> 0);
  }
  if (uart) chosen.prop("stdout-path", `/soc/serial@${hex(uart.base)}`);
  return root;
}

/** The tree as DTB bytes (deterministic). */
export function virtDtb(o: VirtDtOptions): Uint8Array {
  return buildDtb(virtDeviceTree(o));
}
