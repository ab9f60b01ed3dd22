/**
 * Boots a virt machine the way QEMU 7.2 does (`virt_machine_done`): firmware at the start of RAM,
 * kernel and initrd where QEMU puts them, a device tree generated from the machine's device table,
 * and the reset ROM at 0x1000 that hands hart id, tree and `fw_dynamic` info to the firmware.
 * Everything is checked before anything is written, so a bad input leaves the machine untouched.
 * @module
 */
import { EmuError } from "../errors.ts";
import { parseElf } from "../elf.ts";
import type { Machine } from "../machine.ts";
import { QEMU_VIRT_VIRTIO, VIRT_DEVICES } from "../board.ts";
import { fdtAddress, initrdStart, kernelStart, QEMU_FDT_BUFFER } from "./layout.ts";
import { MROM_BASE, MROM_SIZE, resetRomImage, RomDevice } from "./reset_rom.ts";
import { type DeviceTableEntry, virtDtb } from "./virt_dt.ts";

/** What to boot; all optional like QEMU's `-bios`, `-kernel`, `-initrd`, `-append`. */
export interface BootFiles {
  /** Firmware (raw binary or ELF), loaded at the start of RAM; absent = `-bios none`. */
  bios?: Uint8Array;
  /** Kernel (raw Image or ELF); raw images go to the first 4 MiB boundary after the firmware. */
  kernel?: Uint8Array;
  /** Initial ramdisk (needs a kernel). */
  initrd?: Uint8Array;
  /** Kernel command line (needs a kernel). */
  append?: string;
}

/** Options of {@link bootVirt} besides the files. */
export interface BootVirtOptions extends BootFiles {
  /** The machine's device table (name, base, size, irq) the device tree describes. */
  devices: readonly DeviceTableEntry[];
  /** Display names of the files (for {@link BootInfo}); default "(bytes)". */
  names?: { bios?: string; kernel?: string; initrd?: string };
}

/** One placed image. */
export interface Placed {
  /** File name given by the caller. */
  name: string;
  /** First byte in RAM. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** Where everything went: for `info machine` and tests. */
export interface BootInfo {
  /** The firmware, if any. */
  bios?: Placed;
  /** The kernel, if any; `start` is the entry OpenSBI jumps to (`fw_dynamic_info.next_addr`). */
  kernel?: Placed;
  /** The initrd, if any. */
  initrd?: Placed;
  /** The device tree blob. */
  fdt: Placed;
  /** The kernel command line written to `/chosen/bootargs`. */
  append?: string;
  /** Where the reset ROM jumps (start of RAM). */
  startAddr: number;
  /** The tree's bytes. */
  dtb: Uint8Array;
}

/** A boot request that cannot work (bad combination, does not fit in RAM); nothing was changed. */
export class BootError extends EmuError {
  /** incompatible: the files do not fit this machine; corrupt: a file is malformed. */
  readonly kind: "incompatible" | "corrupt";
  /** Which input ("bios", "kernel", "initrd", "append", "fdt"). */
  readonly field: string;
  /** Creates the error. */
  constructor(kind: "incompatible" | "corrupt", field: string, message: string) {
    super(`boot ${field}: ${message}`);
    this.kind = kind;
    this.field = field;
  }
}

const isElf = (b: Uint8Array) =>
  b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** A planned write: bytes at an address (ELF images become one write per segment). */
interface Write {
  addr: number;
  bytes: Uint8Array;
}

/** An image laid out: its writes and its [low, high) span (QEMU's load_elf lowaddr/highaddr). */
function plan(
  field: string,
  bytes: Uint8Array,
  rawAt: number,
): { writes: Write[]; lo: number; hi: number } {
  if (!isElf(bytes)) {
    return { writes: [{ addr: rawAt, bytes }], lo: rawAt, hi: rawAt + bytes.length };
  }
  let image;
  try {
    image = parseElf(bytes);
  } catch (e) {
    throw new BootError("corrupt", field, (e as Error).message);
  }
  const segs = image.segments.filter((s) => s.memSize > 0);
  if (segs.length === 0) throw new BootError("corrupt", field, "ELF has no loadable segment");
  const writes: Write[] = [];
  for (const s of segs) {
    const data = new Uint8Array(s.memSize);
    data.set(bytes.subarray(s.offset, s.offset + s.fileSize));
    writes.push({ addr: s.paddr, bytes: data });
  }
  return {
    writes,
    lo: Math.min(...segs.map((s) => s.paddr)),
    hi: Math.max(...segs.map((s) => s.paddr + s.memSize)),
  };
}

/**
 * Loads firmware, kernel, initrd and a generated device tree into a (fresh) virt machine's RAM,
 * maps the reset ROM at 0x1000 if it is not there yet and resets the hart to it. Returns where
 * everything went. Throws {@link BootError} before changing anything when the request cannot work.
 */
export function bootVirt(machine: Machine, o: BootVirtOptions): BootInfo {
  const ram = machine.ram;
  const names = o.names ?? {};
  if (o.initrd && !o.kernel) throw new BootError("incompatible", "initrd", "needs a kernel");
  if (o.append !== undefined && !o.kernel) {
    throw new BootError("incompatible", "append", "needs a kernel");
  }
  const startAddr = ram.base;
  const writes: Write[] = [];
  const spans: { field: string; lo: number; hi: number }[] = [];
  const info: Partial<BootInfo> = { startAddr };

  let firmwareEnd = startAddr;
  if (o.bios) {
    const p = plan("bios", o.bios, startAddr);
    writes.push(...p.writes);
    spans.push({ field: "bios", lo: p.lo, hi: p.hi });
    firmwareEnd = p.hi;
    info.bios = { name: names.bios ?? "(bytes)", start: p.lo, end: p.hi };
  }
  let kernelEntry = 0; // QEMU passes 0 as next_addr when there is no kernel
  let initrd: { start: number; end: number } | undefined;
  if (o.kernel) {
    const p = plan("kernel", o.kernel, kernelStart(firmwareEnd));
    writes.push(...p.writes);
    spans.push({ field: "kernel", lo: p.lo, hi: p.hi });
    kernelEntry = p.lo;
    info.kernel = { name: names.kernel ?? "(bytes)", start: p.lo, end: p.hi };
    if (o.initrd) {
      const start = initrdStart(kernelEntry, ram.size);
      initrd = { start, end: start + o.initrd.length };
      writes.push({ addr: start, bytes: o.initrd });
      spans.push({ field: "initrd", lo: start, hi: initrd.end });
      info.initrd = { name: names.initrd ?? "(bytes)", ...initrd };
    }
  }
  const bootargs = o.append !== undefined && o.append !== "" ? o.append : undefined;
  let dtb: Uint8Array;
  try {
    dtb = virtDtb({
      ramBase: ram.base,
      ramSize: ram.size,
      devices: o.devices,
      bootargs,
      initrd,
    });
  } catch (e) {
    throw new BootError("incompatible", "fdt", (e as Error).message);
  }
  const fdtAddr = fdtAddress(ram.base, ram.size, Math.max(QEMU_FDT_BUFFER, dtb.length));
  writes.push({ addr: fdtAddr, bytes: dtb });
  spans.push({ field: "fdt", lo: fdtAddr, hi: fdtAddr + dtb.length });
  info.fdt = { name: "(generated)", start: fdtAddr, end: fdtAddr + dtb.length };

  for (const s of spans) {
    if (s.hi > s.lo && !ram.contains(s.lo, s.hi - s.lo)) {
      throw new BootError(
        "incompatible",
        s.field,
        `${hex(s.lo)}..${hex(s.hi)} does not fit in RAM ${hex(ram.base)}..${
          hex(ram.base + ram.size)
        }`,
      );
    }
  }
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i], b = spans[j];
      if (a.lo < b.hi && b.lo < a.hi) {
        throw new BootError(
          "incompatible",
          b.field,
          `${hex(b.lo)}..${hex(b.hi)} overlaps the ${a.field} at ${hex(a.lo)}..${hex(a.hi)}`,
        );
      }
    }
  }

  // Nothing has been changed so far; from here on every step succeeds.
  let rom = machine.bus.regions.find((r) => r.base === MROM_BASE)?.device;
  if (!(rom instanceof RomDevice)) {
    if (rom !== undefined) {
      throw new BootError("incompatible", "bios", `a non-ROM device sits at ${hex(MROM_BASE)}`);
    }
    rom = new RomDevice(MROM_SIZE);
    machine.bus.map(MROM_BASE, MROM_SIZE, rom, "mrom");
  }
  (rom as RomDevice).load(resetRomImage(startAddr, fdtAddr, kernelEntry));
  for (const w of writes) ram.write(w.addr, w.bytes);
  machine.cpu.reset();
  machine.cpu.state.pc = MROM_BASE;
  machine.exitCode = undefined;
  if (bootargs !== undefined) info.append = bootargs;
  info.dtb = dtb;
  return info as BootInfo;
}

/** The machine's devices as the bus maps them, with their IRQs from the board table (emu/board.ts). */
export function virtDevices(machine: Machine): DeviceTableEntry[] {
  return machine.bus.regions
    .filter((r) => r.device !== null && r.base !== MROM_BASE)
    .map((r) => ({
      name: r.name,
      base: r.base,
      size: r.size,
      irq: [...VIRT_DEVICES, ...QEMU_VIRT_VIRTIO].find((d) => d.name === r.name)?.irq,
    }));
}

/** Reads the named files for {@link bootVirt} (paths as given to `--bios`, `--kernel`, `--initrd`). */
export async function readBootFiles(
  paths: { bios?: string; kernel?: string; initrd?: string; append?: string },
): Promise<BootFiles & { names: { bios?: string; kernel?: string; initrd?: string } }> {
  const read = async (field: string, p?: string) => {
    if (p === undefined) return undefined;
    try {
      return await Deno.readFile(p);
    } catch (e) {
      throw new BootError("incompatible", field, `cannot read ${p}: ${(e as Error).message}`);
    }
  };
  return {
    bios: await read("bios", paths.bios),
    kernel: await read("kernel", paths.kernel),
    initrd: await read("initrd", paths.initrd),
    append: paths.append,
    names: { bios: paths.bios, kernel: paths.kernel, initrd: paths.initrd },
  };
}

/**
 * What a shell command calls for `--bios/--kernel/--initrd/--append`: reads the files and boots
 * the machine with the device table its bus has. Throws {@link BootError}; nothing changes then.
 */
export async function bootVirtFiles(
  machine: Machine,
  paths: { bios?: string; kernel?: string; initrd?: string; append?: string },
): Promise<BootInfo> {
  const files = await readBootFiles(paths);
  return bootVirt(machine, { ...files, devices: virtDevices(machine) });
}

/** One line per placed image, for `info machine`. */
export function describeBoot(b: BootInfo): string[] {
  const line = (what: string, p: Placed) =>
    `${what.padEnd(7)} ${hex(p.start)}..${hex(p.end)}  ${p.name}`;
  const out: string[] = [];
  if (b.bios) out.push(line("bios", b.bios));
  if (b.kernel) out.push(line("kernel", b.kernel));
  if (b.initrd) out.push(line("initrd", b.initrd));
  out.push(line("fdt", b.fdt));
  if (b.append !== undefined) out.push(`append  ${b.append}`);
  return out;
}

/** The device tree snapshell gives `machine`, for QEMU's `-dtb` (so both boot the same tree). */
export function machineDtb(machine: Machine, bootargs?: string): Uint8Array {
  return virtDtb({
    ramBase: machine.ram.base,
    ramSize: machine.ram.size,
    devices: virtDevices(machine),
    bootargs,
  });
}
