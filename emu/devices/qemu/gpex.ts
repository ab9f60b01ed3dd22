/**
 * QEMU's generic PCIe host (`gpex-pcihost`) as riscv `virt` maps it, with nothing plugged in:
 * the ECAM window at 0x30000000 (256 buses) answers "no device" (all ones) everywhere except
 * the host bridge at 00:00.0 (`gpex-root`: Red Hat 1b36:0008, class 0600, subsystem
 * 1af4:1100), whose 256-byte type-0 header reads and writes with QEMU's write masks.
 *
 * Three sections, as QEMU 7.2 registers them:
 * - `0000:00:00.0/gpex_root` v1: the bridge's PCIDevice (v2: `version_id` (int32 le),
 *   `config` (pci config, 256 bytes), `irq_state` (pci irq state, 4 × be32));
 * - `PCIHost` v1: `config_reg` (the CF8-style address latch, unused behind ECAM);
 * - `PCIBUS` v1: `nirq` (int32 equal, 4) and `irq_count[nirq]` (int32).
 *
 * The PIO (0x03000000, 64 KiB) and MMIO (0x40000000, 1 GiB) windows are mapped as QEMU 7.2 maps
 * them with nothing on the bus (gpex's `allow-unmapped-accesses`, on by default: the windows are
 * `unassigned_io_ops`): reads are all ones, writes are ignored ({@link PciUnassignedWindow}).
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import type { VmStateField, VmStateInfo } from "../../../migration/vmstate/description.ts";
import {
  int32Equal,
  int32Le,
  struct,
  uint32,
  varray,
  vmsd,
} from "../../../migration/vmstate/fields.ts";
import { VMS } from "../../../migration/vmstate/flags.ts";
import { vmstateInt32 } from "../../../migration/vmstate/infos.ts";
import type { AccessSize, MmioDevice } from "../../bus.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** QEMU virt: the ECAM (memory-mapped configuration) window. */
export const VIRT_PCIE_ECAM_BASE = 0x3000_0000;
/** Size of virt's ECAM window (256 buses × 32 devices × 8 functions × 4 KiB). */
export const VIRT_PCIE_ECAM_SIZE = 0x1000_0000;
/** QEMU virt: the PCI I/O port window (VIRT_PCIE_PIO). */
export const VIRT_PCIE_PIO_BASE = 0x0300_0000;
/** Size of virt's PCI I/O window. */
export const VIRT_PCIE_PIO_SIZE = 0x1_0000;
/** QEMU virt: the 32-bit PCI memory window (VIRT_PCIE_MMIO). */
export const VIRT_PCIE_MMIO_BASE = 0x4000_0000;
/** Size of virt's 32-bit PCI memory window. */
export const VIRT_PCIE_MMIO_SIZE = 0x4000_0000;
/**
 * QEMU riscv32 virt's 64-bit PCI memory window (VIRT32_HIGH_PCIE_MMIO_BASE, 4 GiB): above 4 GiB,
 * in the device tree only (this hart's bus is 32-bit).
 */
export const VIRT32_HIGH_PCIE_MMIO_BASE = 0x3_0000_0000;
/** Size of {@link VIRT32_HIGH_PCIE_MMIO_BASE}'s window. */
export const VIRT32_HIGH_PCIE_MMIO_SIZE = 0x1_0000_0000;
/** PLIC source of INTA (PCIE_IRQ); INTB..INTD follow. */
export const VIRT_PCIE_IRQ = 0x20;
/** The bus's interrupt pins (INTA..INTD → PLIC 32..35 on virt). */
export const PCI_NUM_PINS = 4;
/** Bytes of a conventional PCI configuration space. */
export const PCI_CONFIG_SPACE_SIZE = 256;
/** The section idstr of the host bridge device (QEMU's "<pci address>/<vmsd name>"). */
export const GPEX_ROOT_IDSTR = "0000:00:00.0/gpex_root";

/**
 * A PCI window with no BAR behind it, as gpex maps it (QEMU's `unassigned_io_ops`): every read is
 * all ones, every write is ignored, and no access faults. No state, no section.
 */
export class PciUnassignedWindow implements MmioDevice, SnapshotDevice {
  /** All ones of the access size. */
  read(_offset: number, size: AccessSize): number {
    return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
  }

  /** Ignored. */
  write(_offset: number, _size: AccessSize, _value: number): void {}

  /** Stateless. */
  sections(): DeviceSection[] {
    return [];
  }
}

/** QEMU's PCIDevice, migrated part. */
export interface PciDeviceState {
  /** PCIDevice.version_id: the PCIDevice vmstate version the source used (2). */
  versionId: number;
  /** The configuration space. */
  config: Uint8Array;
  /** Level of each INTx pin (0/1). */
  irqState: number[];
}

/** `gpex_root`: the host bridge, one PCIDevice. */
export interface GpexRootState {
  /** The bridge's PCIDevice. */
  parentObj: PciDeviceState;
}

/** `PCIHost`: the address latch of the CF8/CFC mechanism. */
export interface PciHostState {
  /** Last written config address register. */
  configReg: number;
}

/** `PCIBUS`: per-pin counts of asserting devices. */
export interface PciBusState {
  /** Number of INTx lines of the bus (4). */
  nirq: number;
  /** Devices asserting each line. */
  irqCount: number[];
}

/** The host bridge's reset configuration space, with QEMU 7.2's ids. */
export function gpexRootConfig(): Uint8Array {
  const c = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  const v = new DataView(c.buffer);
  v.setUint16(0x00, 0x1b36, true); // PCI_VENDOR_ID_REDHAT
  v.setUint16(0x02, 0x0008, true); // PCI_DEVICE_ID_REDHAT_PCIE_HOST
  v.setUint16(0x0a, 0x0600, true); // PCI_CLASS_BRIDGE_HOST
  v.setUint16(0x2c, 0x1af4, true); // default subsystem vendor (Red Hat / Qumranet)
  v.setUint16(0x2e, 0x1100, true); // default subsystem id (QEMU)
  return c;
}

/** Bits a guest may write (QEMU's pci_init_wmask for a device without BARs). */
export const WMASK: Uint8Array = (() => {
  const m = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  m[0x04] = 0x07; // IO, MEMORY, MASTER
  m[0x05] = 0x04 | 0x01; // INTX_DISABLE, SERR
  m[0x0c] = 0xff; // cache line size
  m[0x3c] = 0xff; // interrupt line
  m.fill(0xff, 0x40);
  return m;
})();

/** Status bits cleared by writing 1 (QEMU's pci_init_w1cmask). */
export const W1CMASK: Uint8Array = (() => {
  const m = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  m[0x07] = 0x01 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80; // parity .. detected parity
  return m;
})();

/** Reset records of the three sections. */
export function createGpexState(): { root: GpexRootState; host: PciHostState; bus: PciBusState } {
  return {
    root: { parentObj: { versionId: 2, config: gpexRootConfig(), irqState: [0, 0, 0, 0] } },
    host: { configReg: 0 },
    bus: { nirq: PCI_NUM_PINS, irqCount: [0, 0, 0, 0] },
  };
}

/** The PCIe host bridge and its empty bus, behind the ECAM window. */
export class GpexHost implements MmioDevice, SnapshotDevice {
  /** Live state of `gpex_root`. */
  root: GpexRootState;
  /** Live state of `PCIHost`. */
  host: PciHostState;
  /** Live state of `PCIBUS`. */
  bus: PciBusState;

  constructor() {
    const s = createGpexState();
    this.root = s.root;
    this.host = s.host;
    this.bus = s.bus;
  }

  /** Reset: the bridge's header back to its ids, no line asserted. */
  reset(): void {
    const s = createGpexState();
    this.root = s.root;
    this.host = s.host;
    this.bus = s.bus;
  }

  /** Config offset of the host bridge for an ECAM offset, or -1 for "no device". */
  private bridgeOffset(offset: number, size: number): number {
    if (offset >>> 12 !== 0) return -1; // bus 0, device 0, function 0 only
    const reg = offset & 0xfff;
    return reg + size <= PCI_CONFIG_SPACE_SIZE ? reg : -1;
  }

  /** ECAM read: the bridge's header, else all ones. */
  read(offset: number, size: AccessSize): number {
    const reg = this.bridgeOffset(offset, size);
    if (reg < 0) return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    const c = this.root.parentObj.config;
    let r = 0;
    for (let i = size - 1; i >= 0; i--) r = (r << 8) | c[reg + i];
    return r >>> 0;
  }

  /** ECAM write: the bridge's writable bits (QEMU's pci_default_write_config); else ignored. */
  write(offset: number, size: AccessSize, value: number): void {
    const reg = this.bridgeOffset(offset, size);
    if (reg < 0) return;
    const c = this.root.parentObj.config;
    for (let i = 0; i < size; i++) {
      const a = reg + i;
      const b = (value >>> (8 * i)) & 0xff;
      c[a] = ((c[a] & ~WMASK[a]) | (b & WMASK[a])) & ~(b & W1CMASK[a]);
    }
  }

  /** Sections `0000:00:00.0/gpex_root`, `PCIHost`, `PCIBUS`, in QEMU's registration order. */
  sections(): DeviceSection[] {
    return [
      {
        vmsd: vmstateGpexRoot,
        idstr: GPEX_ROOT_IDSTR,
        state: () => this.root,
        commit: (s: GpexRootState) => {
          this.root = s;
        },
      },
      {
        vmsd: vmstatePciHost,
        state: () => this.host,
        commit: (s: PciHostState) => {
          this.host = s;
        },
      },
      {
        vmsd: vmstatePciBus,
        state: () => this.bus,
        commit: (s: PciBusState) => {
          this.bus = s;
        },
      },
    ];
  }
}

// ---- migration ----

/** QEMU's `pci config` info: the configuration space as raw bytes (checked in postLoad). */
export const vmstatePciConfig: VmStateInfo = {
  name: "pci config",
  size: 1,
  get(r, current, ctx) {
    r.checkAvailable(ctx.size, `pci config "${ctx.field.name}"`);
    const target = current instanceof Uint8Array && current.length === ctx.size
      ? current
      : new Uint8Array(ctx.size);
    target.set(r.borrow(ctx.size));
    return target;
  },
  put(w, v, ctx) {
    const b = v instanceof Uint8Array ? v : new Uint8Array(0);
    if (b.length !== ctx.size) {
      throw new StateValidationError(`pci config holds ${b.length} bytes, not ${ctx.size}`);
    }
    w.bytes(b);
  },
  zero: (size) => new Uint8Array(size),
};

/** QEMU's `pci irq state` info: four be32 pin levels, each 0 or 1. */
export const vmstatePciIrqState: VmStateInfo = {
  name: "pci irq state",
  size: 1,
  get(r) {
    const levels: number[] = [];
    for (let i = 0; i < PCI_NUM_PINS; i++) {
      const v = r.be32();
      if (v !== 0 && v !== 1) throw new StateValidationError(`irq state ${v}: must be 0 or 1`);
      levels.push(v);
    }
    return levels;
  },
  put(w, v) {
    const levels = Array.isArray(v) ? v : [];
    for (let i = 0; i < PCI_NUM_PINS; i++) w.be32(levels[i] ? 1 : 0);
  },
  zero: () => [0, 0, 0, 0],
};

/** A VMSTATE_BUFFER_UNSAFE_INFO row (a buffer-sized field with its own info). */
function bufferInfo<const N extends string, const K extends string = N>(
  name: N,
  info: VmStateInfo,
  size: number,
  extra: Omit<Partial<VmStateField>, "key"> & { key?: K } = {},
): VmStateField<K> {
  return { name, info, flags: VMS.BUFFER, size, ...extra } as VmStateField<K>;
}

/** Checks a loaded bridge header against the device's: what QEMU checks, and more. */
export function validateGpexRoot(d: PciDeviceState): void {
  const ours = gpexRootConfig();
  for (let i = 0; i < PCI_CONFIG_SPACE_SIZE; i++) {
    // QEMU rejects changes only under cmask (ids, class, header type, capability pointer);
    // snapshell rejects a change of any bit a guest cannot write.
    const fixed = ~WMASK[i] & ~W1CMASK[i] & 0xff;
    if ((d.config[i] ^ ours[i]) & fixed) {
      throw new StateValidationError(
        `Bad config data at 0x${i.toString(16)}: read 0x${d.config[i].toString(16)}, device 0x${
          ours[i].toString(16)
        } (read-only bits 0x${fixed.toString(16)})`,
      );
    }
  }
  if (d.irqState.some((l) => l !== 0)) {
    throw new StateValidationError(
      `irq_state [${d.irqState}]: the host bridge has no interrupt pin`,
    );
  }
}

const vmstatePciDevice = vmsd<PciDeviceState>({
  name: "PCIDevice",
  versionId: 2,
  minimumVersionId: 1,
  postLoad(d) {
    validateGpexRoot(d);
  },
  fields: [
    int32Le("version_id", { key: "versionId" }),
    bufferInfo("config", vmstatePciConfig, PCI_CONFIG_SPACE_SIZE, { exists: () => true }),
    bufferInfo("config", vmstatePciConfig, 4096, { exists: () => false }), // PCIe devices only
    bufferInfo("irq_state", vmstatePciIrqState, PCI_NUM_PINS * 4, {
      key: "irqState",
      versionId: 2,
    }),
  ],
});

/** Section `0000:00:00.0/gpex_root` v1, QEMU 7.2's `vmstate_gpex_root`. */
export const vmstateGpexRoot = vmsd<GpexRootState>({
  name: "gpex_root",
  versionId: 1,
  minimumVersionId: 1,
  fields: [struct("parent_obj", vmstatePciDevice, { key: "parentObj" })],
});

/** Section `PCIHost` v1, QEMU 7.2's `vmstate_pcihost` (any latch value is valid). */
export const vmstatePciHost = vmsd<PciHostState>({
  name: "PCIHost",
  versionId: 1,
  minimumVersionId: 1,
  fields: [uint32("config_reg", { key: "configReg" })],
});

/** Section `PCIBUS` v1, QEMU 7.2's `vmstate_pcibus`. */
export const vmstatePciBus = vmsd<PciBusState>({
  name: "PCIBUS",
  versionId: 1,
  minimumVersionId: 1,
  postLoad(s) {
    // Nothing on the bus can assert a pin: the host bridge has none.
    if (s.irqCount.some((n) => n !== 0)) {
      throw new StateValidationError(
        `irq_count [${s.irqCount}]: no device on this bus has an interrupt pin`,
      );
    }
  },
  fields: [
    int32Equal("nirq"),
    varray("irq_count", vmstateInt32, "nirq", { key: "irqCount", countType: "int32" }),
  ],
});
