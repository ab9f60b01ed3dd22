/**
 * The `virt` machine: QEMU's riscv32 virt memory map where the devices overlap (sifive_test,
 * goldfish RTC, ACLINT, PLIC, UART 16550A) plus our NVMe-style queue device, all wired to one
 * hart with virtual time, each where the board table (`board.ts`) puts it. Device order is
 * registration order, so section ids are stable.
 * @module
 */
import { type BoardDevice, QEMU_VIRT_BOARD, QEMU_VIRT_VIRTIO, VIRT_BOARD } from "./board.ts";
import { RomDevice } from "./boot/reset_rom.ts";
import { QEMU_MISA_EXT, QEMU_RV32IMA_MISA_EXT, setQemuMisaMask } from "./cpu/vmstate.ts";
import {
  CpuTimers,
  createGlobalState,
  FwCfg,
  GlobalState,
  GpexHost,
  MAX_ICOUNT_SHIFT,
  PciUnassignedWindow,
  PflashCfi01,
  SlirpNetdev,
  VirtioMmioTransport,
} from "./devices/qemu/mod.ts";
import { Irq } from "./cpu/trap.ts";
import { Aclint } from "./devices/aclint.ts";
import { GoldfishRtc } from "./devices/goldfish_rtc.ts";
import { NvmeQueueDevice } from "./devices/nvme.ts";
import { SifivePlic } from "./devices/sifive_plic.ts";
import { SifiveTest } from "./devices/sifive_test.ts";
import { Uart16550 } from "./devices/uart16550.ts";
import { Machine, type MachineOptions } from "./machine.ts";
import { StreamReader } from "../migration/stream/reader.ts";

/** The machine profiles: snapshell's `virt`, or `qemu-virt`, QEMU 7.2's riscv32 virt exactly. */
export const MACHINE_PROFILES = ["virt", "qemu-virt"] as const;

/** One of {@link MACHINE_PROFILES}. */
export type MachineProfile = typeof MACHINE_PROFILES[number];

/** Options of the virt machine. */
export interface VirtOptions extends Omit<MachineOptions, "qemu"> {
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /** Disk image of the NVMe-style device (default 1 MiB of zeros; `virt` only). */
  disk?: Uint8Array;
  /** Which machine (default `virt`). */
  profile?: MachineProfile;
  /**
   * `qemu-virt`: QEMU's `-icount shift=N` this machine follows: 2^N virtual ns per instruction
   * (default 0: 1 ns, as `-icount shift=0`).
   */
  icountShift?: number;
  /** `qemu-virt`: QEMU has a user-mode netdev, so a `slirp` section (default true, as QEMU's default NIC). */
  slirp?: boolean;
  /**
   * `qemu-virt`: the QEMU `-cpu` this hart mirrors: `rv32` (QEMU's default, misa IMAFDCSUH) or
   * `rv32ima` (QEMU_RV32IMA_CPU, how firmware and Linux run on QEMU: misa IMASU, which OpenSBI
   * reads to decide whether to touch FP state). Default `rv32`; a load takes the stream's misa.
   */
  qemuCpu?: "rv32" | "rv32ima";
}

/** QEMU's `globalstate` of a guest that runs (a live migration's source). */
const RUNNING_STATE = createGlobalState("running");

/** The parts of the `qemu-virt` profile that QEMU registers before the CPU. */
interface QemuEarly {
  timers: CpuTimers;
  slirp?: SlirpNetdev;
  flash0: PflashCfi01;
  flash1: PflashCfi01;
  mrom: RomDevice;
}

/**
 * QEMU's `timer` state for `-icount shift=N,sleep=off`: QEMU 7.2 creates the icount warp timer
 * only with sleep=on (icount_configure), so none is sent (a QEMU without one cannot load it).
 */
function qemuTimers(shift: number): CpuTimers {
  const t = new CpuTimers(1, shift);
  t.state.hasWarpTimer = false;
  return t;
}

/** Builds the `qemu-virt` parts that exist before the machine (timer, netdev, flash, mrom). */
function qemuEarly(opts: VirtOptions): { early: QemuEarly; machine: MachineOptions } {
  const shift = opts.icountShift ?? 0;
  if (!Number.isInteger(shift) || shift < 0 || shift > MAX_ICOUNT_SHIFT) {
    throw new RangeError(`icount shift ${shift} is outside 0..${MAX_ICOUNT_SHIFT}`);
  }
  const early: QemuEarly = {
    timers: qemuTimers(shift),
    slirp: opts.slirp === false ? undefined : new SlirpNetdev(),
    flash0: new PflashCfi01({ instanceId: 0 }),
    flash1: new PflashCfi01({ instanceId: 1 }),
    mrom: new RomDevice(QEMU_VIRT_BOARD.mrom.size),
  };
  const block = (idstr: string, bytes: Uint8Array) => ({ idstr, bytes });
  // Only the pflash device writes its storage: its dirty and written pages are the block's.
  const flash = (idstr: string, f: PflashCfi01) => ({
    idstr,
    bytes: f.storage,
    dirty: f.dirty,
    written: f.written,
  });
  return {
    early,
    machine: {
      ...opts,
      nsPerInsn: 1n << BigInt(shift),
      qemu: {
        beforeRam: [early.timers],
        blocksBefore: [
          flash("virt.flash0", early.flash0),
          flash("virt.flash1", early.flash1),
        ],
        blocksAfter: [block("riscv_virt_board.mrom", early.mrom.bytes)],
        beforeCpu: early.slirp ? [early.slirp] : [],
      },
    },
  };
}

/** The `qemu-virt` profile's devices and machinery sections. */
export interface QemuDevices extends QemuEarly {
  /** PCIe host bridge with its empty bus. */
  gpex: GpexHost;
  /** fw_cfg. */
  fwCfg: FwCfg;
  /** QEMU's run state (`globalstate`). */
  globalState: GlobalState;
}

/** The virt machine with its devices reachable by name. */
export class VirtMachine extends Machine {
  /** UART 16550A (`VIRT_BOARD.uart0`). */
  readonly uart: Uart16550;
  /** PLIC (`VIRT_BOARD.plic`). */
  readonly plic: SifivePlic;
  /** ACLINT, mswi + mtimer (`VIRT_BOARD.aclint`). */
  readonly aclint: Aclint;
  /** goldfish RTC (`VIRT_BOARD.rtc`). */
  readonly rtc: GoldfishRtc;
  /** sifive_test finisher (`VIRT_BOARD.finisher`). */
  readonly finisher: SifiveTest;
  /**
   * NVMe-style queue device (`VIRT_BOARD.nvme`). `qemu-virt` has none (QEMU has no such device):
   * there this object is detached, on neither the bus nor the section registry.
   */
  readonly nvme: NvmeQueueDevice;
  /** Which profile this machine is. */
  readonly profile: MachineProfile;
  /** `qemu-virt`: QEMU's devices and machinery sections; undefined for `virt`. */
  readonly qemuDevices: QemuDevices | undefined;
  /** Everything the guest printed, for `console` and tests. */
  consoleText = "";

  constructor(opts: VirtOptions = {}) {
    const profile = opts.profile ?? "virt";
    const q = profile === "qemu-virt" ? qemuEarly(opts) : undefined;
    const misaExt = opts.qemuCpu === "rv32ima" ? QEMU_RV32IMA_MISA_EXT : QEMU_MISA_EXT;
    super(q ? q.machine : opts);
    this.profile = profile;
    // QEMU 7.2 with -icount counts an I/O instruction (MMIO, a `time` CSR read) as executed while
    // it runs (it ends its block): `qemu-virt` devices see the clock one instruction later.
    const ioSkew = profile === "qemu-virt" ? this.nsPerInsn : 0n;
    const clock = ioSkew ? () => this.nowNs() + ioSkew : () => this.nowNs();
    this.finisher = new SifiveTest({
      onFinish: (e) => {
        if (e.kind === "exit") this.finish(e.code);
        else this.finish(0);
      },
    });
    this.plic = new SifivePlic({
      contexts: [(l) => this.cpu.setIrq(Irq.MEI, l), (l) => this.cpu.setIrq(Irq.SEI, l)],
    });
    this.rtc = new GoldfishRtc({ clock, irq: this.plic.irqLine(VIRT_BOARD.rtc.irq) });
    this.aclint = new Aclint({
      clock,
      qemuTimer: profile === "qemu-virt",
      timerIrq: (_h, l) => this.cpu.setIrq(Irq.MTI, l),
      softIrq: (_h, l) => this.cpu.setIrq(Irq.MSI, l),
    });
    // The time CSR reads the mtimer, time_delta included, as QEMU 7.2's rdtime_fn does.
    this.cpu.timeSource = () => Number(this.aclint.mtimeAt(clock()));
    const decoder = new TextDecoder();
    this.uart = new Uart16550({
      clock,
      irq: this.plic.irqLine(VIRT_BOARD.uart0.irq),
      output: (b) => {
        this.consoleText += decoder.decode(new Uint8Array([b]), { stream: true });
        opts.console?.(b);
      },
    });
    const ram = this.ram;
    this.nvme = new NvmeQueueDevice({
      dma: { read: (a, n) => ram.read(a, n), write: (a, b) => ram.write(a, b) },
      ramBase: ram.base,
      ramSize: ram.size,
      disk: opts.disk,
      irq: this.plic.irqLine(VIRT_BOARD.nvme.irq),
    });
    if (q) {
      this.qemuDevices = this.attachQemu(q.early, misaExt);
    } else {
      this.qemuDevices = undefined;
      this.place(VIRT_BOARD.finisher, this.finisher);
      this.place(VIRT_BOARD.rtc, this.rtc);
      this.place(VIRT_BOARD.aclint, this.aclint);
      this.place(VIRT_BOARD.plic, this.plic);
      this.place(VIRT_BOARD.uart0, this.uart);
      this.place(VIRT_BOARD.nvme, this.nvme);
    }
    // Every commit (load, `set`, fork, fuzz reset) ends with the PLIC re-reading the lines the
    // devices committed with it re-drove.
    this.registry.afterCommit(() => this.plic.settleLines());
  }

  /**
   * Wires the `qemu-virt` devices in QEMU 7.2's registration order (section ids 7..17 after the
   * CPU): mtimer, PLIC, PCIe host, serial, RTC, both flash banks, fw_cfg, globalstate. The ACLINT
   * sends no `riscv_aclint_swi`: QEMU keeps msip in env.mip, so a load re-derives it from there.
   */
  private attachQemu(early: QemuEarly, misaExt: number): QemuDevices {
    const B = QEMU_VIRT_BOARD;
    this.cpu.state.misa = (this.cpu.state.misa & ~0x3ffffff) | misaExt;
    setQemuMisaMask(this.qemuCpu!, misaExt);
    // QEMU's virtual clock and icount are ours: saves read them, loads set them.
    early.timers.useClock({
      read: () => ({ icount: BigInt(this.cpu.instret), ns: this.nowNs() }),
      set: (ns, icount) => this.setTime(ns, icount),
    });
    this.place(B.mrom, early.mrom);
    this.place(B.finisher, this.finisher);
    this.attach(
      B.aclint.name,
      B.aclint.base,
      B.aclint.size,
      this.aclint,
      this.aclint.sections().filter((sec) => sec.vmsd.name === "riscv_mtimer"),
    );
    this.place(B.plic, this.plic);
    // The virtio-mmio transports (empty: no section) are created before the PCIe host, as QEMU does.
    for (const at of QEMU_VIRT_VIRTIO) this.place(at, new VirtioMmioTransport());
    const gpex = new GpexHost();
    this.place(B.pcie, gpex);
    this.place(B.pciePio, new PciUnassignedWindow());
    this.place(B.pcieMmio, new PciUnassignedWindow());
    this.place(B.uart0, this.uart);
    this.place(B.rtc, this.rtc);
    this.place(B.flash0, early.flash0);
    this.place(B.flash1, early.flash1);
    const ram = this.ram;
    const fwCfg = new FwCfg({
      dma: {
        read: (a, n) => ram.contains(a, n) ? ram.read(a, n) : null,
        write: (a, b) => ram.contains(a, b.length) ? (ram.write(a, b), true) : false,
      },
    });
    this.place(B.fwCfg, fwCfg);
    const globalState = new GlobalState("paused");
    this.addDevice("globalstate", {
      sections: () =>
        globalState.sections().map((sec) => ({
          ...sec,
          // A live migration's guest runs: QEMU's destination then runs it too (autostart).
          state: () => this.liveMigrationSource ? RUNNING_STATE : globalState.state,
        })),
    });
    this.registry.afterCommit(() => {
      // msip lives in mip on QEMU's side: the mswi follows the loaded hart.
      this.aclint.swi.msip[0] = (this.cpu.state.mip >>> Irq.MSI) & 1;
    });
    return { ...early, gpex, fwCfg, globalState };
  }

  /** The RAM blocks this machine's `ram` section lists, idstr to length (QEMU's for `qemu-virt`). */
  qemuBlockSizes(): Map<string, number> {
    const q = this.qemuDevices;
    const out = new Map<string, number>();
    if (q) {
      out.set("virt.flash0", q.flash0.storage.length).set("virt.flash1", q.flash1.storage.length);
    }
    out.set("riscv_virt_board.ram", this.ram.size);
    if (q) out.set("riscv_virt_board.mrom", q.mrom.bytes.length);
    return out;
  }

  /** Attach a device where the board table puts it. */
  private place(at: BoardDevice, dev: Parameters<Machine["attach"]>[3]): void {
    this.attach(at.name, at.base, at.size, dev);
  }

  /** Type into the UART: bytes become receivable at the current virtual time. */
  sendInput(text: string | Uint8Array): void {
    this.uart.pushInput(text);
  }
}

/** The embedded default guest: the demo that uses every device. */
export const DEFAULT_GUEST = new URL("./guests/build/demo.elf", import.meta.url);

/** QEMU 7.2 virt's first flash block: a stream listing it was written by QEMU's riscv virt. */
const QEMU_VIRT_MARKER_BLOCK = "virt.flash0";

/** A `ram` START block list as the stream declares it. */
export interface StreamBlock {
  /** Block idstr. */
  idstr: string;
  /** used_length in bytes. */
  length: number;
}

/**
 * The RAM block list of a stream's `ram` START section (QEMU's MEM_SIZE record: the total, then
 * each block's idstr and length until they add up), or undefined when there is none. Only the
 * stream's head is read; capabilities that add per-block fields (postcopy, ignore-shared) are
 * not assumed.
 */
export function streamBlocks(bytes: Uint8Array): StreamBlock[] | undefined {
  const head = bytes.subarray(0, Math.min(bytes.length, 64 * 1024));
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let at = 8; at + 22 <= head.length; at++) {
    // SECTION_START, id, str8 "ram", instance, version
    if (head[at] !== 0x01 || head[at + 5] !== 3) continue;
    if (head[at + 6] !== 0x72 || head[at + 7] !== 0x61 || head[at + 8] !== 0x6d) continue;
    let p = at + 17;
    const total = view.getBigUint64(p) & ~0xfffn;
    p += 8;
    const blocks: StreamBlock[] = [];
    let sum = 0n;
    const dec = new TextDecoder();
    while (sum < total && p < head.length) {
      const n = head[p];
      if (p + 1 + n + 8 > head.length) return undefined;
      const idstr = dec.decode(head.subarray(p + 1, p + 1 + n));
      const length = view.getBigUint64(p + 1 + n);
      blocks.push({ idstr, length: Number(length) });
      sum += length;
      p += 1 + n + 8;
    }
    return sum === total ? blocks : undefined;
  }
  return undefined;
}

/**
 * The machine a stream with this RAM block list needs, when the list is QEMU 7.2 riscv virt's:
 * the `qemu-virt` profile, RAM sized from `riscv_virt_board.ram`, with a `slirp` netdev whose
 * presence follows the stream (a load turns it off when QEMU had no user netdev). Undefined for
 * any other list (the default `virt` takes it). Reads nothing but the list, so a socket's
 * stream can pick its machine before the load.
 */
export function qemuVirtOptionsForBlocks(
  blocks: readonly StreamBlock[] | undefined,
): VirtOptions | undefined {
  if (!blocks?.some((b) => b.idstr === QEMU_VIRT_MARKER_BLOCK)) return undefined;
  const ram = blocks.find((b) => b.idstr === "riscv_virt_board.ram");
  if (!ram) return undefined;
  return { profile: "qemu-virt", ramSize: ram.length, slirp: true };
}

/**
 * The machine a stream needs, when its block list is QEMU 7.2 riscv virt's: as
 * {@link qemuVirtOptionsForBlocks}, with `slirp` exactly as the stream has it (found by a dry-run
 * load), so even the section ids after it are QEMU's. Undefined for any other stream.
 */
export async function qemuVirtOptionsFor(bytes: Uint8Array): Promise<VirtOptions | undefined> {
  const opts = qemuVirtOptionsForBlocks(streamBlocks(bytes));
  if (!opts) return undefined;
  const probe = new VirtMachine(opts);
  const hasSlirp = await probe.load(StreamReader.fromBytes(bytes), { dryRun: true }).then(
    (report) => report.sections.some((s) => s.idstr === "slirp"),
    () => true, // the real load says what is wrong with it
  );
  return hasSlirp ? opts : { ...opts, slirp: false };
}

/** The head of a regular file (64 KiB), or undefined for pipes and devices (read once, by the load). */
async function fileHead(path: string): Promise<Uint8Array | undefined> {
  if (!(await Deno.stat(path).then((st) => st.isFile, () => false))) return undefined;
  const f = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(64 * 1024);
    let n = 0;
    for (;;) {
      const got = await f.read(head.subarray(n));
      if (got === null) break;
      n += got;
      if (n === head.length) break;
    }
    return head.subarray(0, n);
  } finally {
    f.close();
  }
}

/**
 * {@link qemuVirtOptionsFor} for a regular file: only its head is read unless that head lists
 * QEMU's blocks (then the whole stream, for the dry-run that finds `slirp`).
 */
export async function qemuVirtOptionsForFile(path: string): Promise<VirtOptions | undefined> {
  const head = await fileHead(path);
  if (!head || !qemuVirtOptionsForBlocks(streamBlocks(head))) return undefined;
  return qemuVirtOptionsFor(await Deno.readFile(path));
}
