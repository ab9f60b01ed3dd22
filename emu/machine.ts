/**
 * A deterministic machine: one hart, RAM, MMIO devices and the section registry that declares
 * every piece of their state. Time is virtual (derived from the instruction count, QEMU's icount
 * idea), so running a snapshot for N instructions always ends in the same state.
 * @module
 */
import {
  type LoadReport,
  loadStream,
  type LoadStreamOptions,
} from "../migration/sections/loadvm.ts";
import { SectionRegistry } from "../migration/sections/registry.ts";
import { type SaveOptions, saveStream } from "../migration/sections/savevm.ts";
import { forEachPage } from "../migration/ram/page_bitmap.ts";
import { RAM_SECTION_VERSION, type RamBlock, RamSection } from "../migration/ram/ram_section.ts";
import type { StateRecord } from "../migration/vmstate/description.ts";
import type { StreamReader } from "../migration/stream/reader.ts";
import type { StreamWriter } from "../migration/stream/writer.ts";
import { Bus, type MmioDevice } from "./bus.ts";
import { Cpu, DEFAULT_TRANSLATE } from "./cpu/cpu.ts";
import { Irq } from "./cpu/trap.ts";
import {
  checkHaltedAgrees,
  cpuCommonRecord,
  cpuFromRecord,
  cpuToRecord,
  QEMU_RESETVEC,
  qemuCpuCommonRecord,
  qemuCpuDefaults,
  qemuCpuFromRecord,
  qemuCpuToRecord,
  vmstateCpuCommon,
  vmstateQemuRiscvCpu,
  vmstateRiscvCpu,
} from "./cpu/vmstate.ts";
import type { SnapshotDevice, TimedDevice } from "./devices/device.ts";
import { loadElf } from "./elf.ts";
import { PAGE_SIZE, Ram, RAM_BASE } from "./ram.ts";

/** Virtual nanoseconds per retired instruction (a 100 MHz virtual hart). */
export const NS_PER_INSN = 10n;

/** HTIF `tohost` is checked every this many instructions. */
const HTIF_POLL = 4096;

/** Why {@link Machine.run} returned. */
export type RunStop = "budget" | "exit" | "idle" | "interrupted";

/** Outcome of a run. */
export interface RunResult {
  /** Instructions executed in this call. */
  insns: number;
  /** Why it stopped. */
  stop: RunStop;
  /** Guest exit status when `stop` is "exit". */
  exitCode?: number;
}

/** Construction options. */
export interface MachineOptions {
  /** RAM size in bytes (default 128 MiB). */
  ramSize?: number;
  /** Machine type name in streams. */
  machineType?: string;
  /** Virtual ns per instruction (default {@link NS_PER_INSN}; `-icount shift=N` is 2^N). */
  nsPerInsn?: bigint;
  /** Lay the sections out exactly as QEMU 7.2 does (the `qemu-virt` profile); default snapshell's. */
  qemu?: QemuLayout;
  /** Run hot code translated (default {@link DEFAULT_TRANSLATE}); false: the interpreter only. */
  translate?: boolean;
}

/**
 * What a machine that mirrors QEMU 7.2 registers around its own RAM and CPU, in QEMU's order, so
 * the section ids and the `ram` block list are QEMU's: `timer` (id 0), an unused id, `ram` (2),
 * an unused id, then `slirp` when there is a user netdev, then `cpu_common` and `cpu`.
 */
export interface QemuLayout {
  /** Sections QEMU registers before `ram` (its `timer`). */
  readonly beforeRam: readonly SnapshotDevice[];
  /** RAM blocks QEMU lists before the machine's RAM (`virt.flash0`, `virt.flash1`). */
  readonly blocksBefore: readonly RamBlock[];
  /** RAM blocks QEMU lists after it (`riscv_virt_board.mrom`). */
  readonly blocksAfter: readonly RamBlock[];
  /** Sections QEMU registers between `ram` and the CPU (`slirp`). */
  readonly beforeCpu: readonly SnapshotDevice[];
}

/** One hart + RAM + devices, with snapshot save/load through the migration engine. */
export class Machine {
  /** Guest RAM. */
  readonly ram: Ram;
  /** System bus. */
  readonly bus: Bus;
  /** The hart. */
  readonly cpu: Cpu;
  /** Everything that travels in a snapshot. */
  readonly registry = new SectionRegistry();
  /** The RAM section handlers. */
  readonly ramSection: RamSection;
  /** Machine type written in the configuration record. */
  readonly machineType: string;
  /** Devices by name, in attach order. */
  readonly devices = new Map<string, SnapshotDevice & Partial<TimedDevice>>();
  /** Guest exit status once the guest asked to stop (finisher or HTIF). */
  exitCode: number | undefined;
  /**
   * Pages the last accepted load changed (a bitmap), until someone takes them: the fuzzer's
   * reset puts back only those (and the guest's dirty ones) instead of all of RAM.
   */
  loadedPages: Uint32Array | undefined;
  private timed: (SnapshotDevice & TimedDevice)[] = [];
  private tohost: number | undefined;
  private stopRequested = false;
  /** The CPU may have cached decoded instructions (set by run; a fresh machine has none). */
  private decodeCacheUsed = false;

  /**
   * True while a live (precopy) migration sends this machine: its guest runs meanwhile, which
   * QEMU's `globalstate` records as "running" so that a QEMU destination resumes it by itself.
   */
  liveMigrationSource = false;

  /** Sections and blocks laid out as QEMU 7.2's (the `qemu-virt` profile). */
  readonly qemuLayout: boolean;

  /** Virtual ns each instruction (or idle cycle) takes. */
  readonly nsPerInsn: bigint;

  constructor(opts: MachineOptions = {}) {
    this.machineType = opts.machineType ?? "virt";
    this.nsPerInsn = opts.nsPerInsn ?? NS_PER_INSN;
    this.qemuLayout = opts.qemu !== undefined;
    this.ram = new Ram(opts.ramSize);
    this.bus = new Bus(this.ram);
    this.cpu = new Cpu(this.bus, {
      time: () => Number(this.nowNs() / 100n),
      translate: opts.translate ?? DEFAULT_TRANSLATE,
    });
    this.cpu.stopAfterMmio = true; // device deadlines an access moves are re-read at once
    const ramBlock = {
      idstr: "riscv_virt_board.ram",
      bytes: this.ram.u8,
      dirty: this.ram.dirty,
      written: this.ram.written,
      onLoaded: (changed: Uint32Array) => {
        this.loadedPages = changed;
        this.dropDecoded(changed);
      },
    };
    const q = opts.qemu;
    for (const dev of q?.beforeRam ?? []) this.addSections(dev.sections());
    if (q) this.registry.skipIds(1); // QEMU's `block` handler, never sent here
    const blocks = [...q?.blocksBefore ?? [], ramBlock, ...q?.blocksAfter ?? []];
    this.ramSection = new RamSection(() => blocks);
    this.registry.registerIterative("ram", RAM_SECTION_VERSION, this.ramSection);
    if (q) this.registry.skipIds(1); // QEMU's `dirty-bitmap` handler
    for (const dev of q?.beforeCpu ?? []) this.addSections(dev.sections());
    this.registry.registerDevice({
      vmsd: vmstateCpuCommon,
      state: () => q ? qemuCpuCommonRecord(this.cpu.state) : cpuCommonRecord(this.cpu.state),
      commit: (s) => {
        this.cpu.state.waiting = s.halted ? 1 : 0;
      },
    });
    if (q) {
      this.qemuCpu = qemuCpuDefaults(this.cpu.state);
      this.registry.registerDevice({
        vmsd: vmstateQemuRiscvCpu,
        state: () => qemuCpuToRecord(this.cpu.state, this.qemuCpu!, QEMU_RESETVEC),
        commit: (s) => {
          qemuCpuFromRecord(this.cpu.state, s);
          this.qemuCpu = s; // QEMU's fields this hart does not model travel on unchanged
          this.cpu.invalidateCaches();
        },
      });
      return;
    }
    this.registry.registerDevice({
      vmsd: vmstateRiscvCpu,
      state: () => cpuToRecord(this.cpu.state, RAM_BASE),
      stage: () => cpuToRecord(this.cpu.state, RAM_BASE), // already a private copy
      commit: (s) => {
        cpuFromRecord(this.cpu.state, s);
        this.cpu.invalidateCaches(); // TLB and PMP ranges derive from the loaded state
      },
    });
    // `halted` travels in both CPU sections: they must agree (one fact, one answer).
    this.registry.addStagedCheck((staged) =>
      checkHaltedAgrees(staged("cpu_common"), staged("cpu"))
    );
  }

  /**
   * The `qemu-virt` profile's QEMU `cpu` record for the fields this hart does not model (the
   * last loaded, or QEMU 7.2's reset values); undefined for snapshell's own layout.
   */
  qemuCpu: StateRecord | undefined;

  private addSections(sections: Iterable<Parameters<SectionRegistry["registerDevice"]>[0]>): void {
    for (const s of sections) this.registry.registerDevice(s);
  }

  /** Virtual time in ns: mcycle (instructions plus idle cycles skipped in WFI) × nsPerInsn. */
  nowNs(): bigint {
    return BigInt(this.cpu.cycle) * this.nsPerInsn;
  }

  /**
   * Sets the virtual clock to `ns` (rounded down to whole cycles) and, when given, minstret to
   * `icount`: how a QEMU stream's `timer` section brings QEMU's virtual time across.
   */
  setTime(ns: bigint, icount?: bigint): void {
    const s = this.cpu.state;
    const cycles = BigInt.asUintN(64, ns / this.nsPerInsn);
    s.cycleLo = Number(cycles & 0xffffffffn);
    s.cycleHi = Number(cycles >> 32n);
    if (icount !== undefined) {
      const n = BigInt.asUintN(64, icount);
      s.instretLo = Number(n & 0xffffffffn);
      s.instretHi = Number(n >> 32n);
    }
  }

  /** Let `n` cycles pass with no instruction retired (the hart sleeps in WFI). */
  private idle(n: number): void {
    const s = this.cpu.state;
    const lo = s.cycleLo + n;
    s.cycleLo = lo % 0x1_0000_0000;
    s.cycleHi = (s.cycleHi + Math.floor(lo / 0x1_0000_0000)) >>> 0;
  }

  /** Map a device and register its sections. */
  attach(
    name: string,
    base: number,
    size: number,
    dev: MmioDevice & SnapshotDevice & Partial<TimedDevice>,
    sections = dev.sections(),
  ): void {
    this.bus.map(base, size, dev, name);
    this.devices.set(name, dev);
    this.addSections(sections);
    if (dev.nextDeadline && dev.tick) this.timed.push(dev as SnapshotDevice & TimedDevice);
  }

  /** Register a device that has state but no MMIO window. */
  addDevice(name: string, dev: SnapshotDevice & Partial<TimedDevice>): void {
    this.devices.set(name, dev);
    for (const s of dev.sections()) this.registry.registerDevice(s);
    if (dev.nextDeadline && dev.tick) this.timed.push(dev as SnapshotDevice & TimedDevice);
  }

  /** Load an ELF into RAM and point the hart at its entry; remembers an HTIF `tohost` symbol. */
  boot(elf: Uint8Array): void {
    const image = loadElf(elf, this.ram);
    this.cpu.reset();
    this.cpu.state.pc = image.entry >>> 0;
    this.tohost = image.symbols.get("tohost");
    this.exitCode = undefined;
  }

  /** Guest requested exit (finisher device callback). */
  finish(code: number): void {
    this.exitCode = code;
    this.cpu.requestExit();
  }

  /** Ask a running {@link run} to return at the next block boundary (Ctrl-C, `stop`). */
  interrupt(): void {
    this.stopRequested = true;
    this.cpu.requestExit();
  }

  private nextDeadlineNs(): bigint | null {
    let d: bigint | null = null;
    for (const t of this.timed) {
      const n = t.nextDeadline();
      if (n !== null && (d === null || n < d)) d = n;
    }
    return d;
  }

  private tickDevices(): void {
    const now = this.nowNs();
    for (const t of this.timed) {
      const n = t.nextDeadline();
      if (n !== null && n <= now) t.tick(now);
    }
  }

  private checkHtif(): boolean {
    if (this.tohost === undefined || !this.ram.contains(this.tohost, 4)) return false;
    const r = this.cpu.stopReason;
    if (this.cpu.instret % HTIF_POLL !== 0 && (r === "budget" || r === "mmio")) return false;
    const v = this.ram.u32[(this.tohost - this.ram.base) >>> 2];
    if (v === 0) return false;
    this.exitCode = v === 1 ? 0 : v >>> 1;
    return true;
  }

  /** Run up to `maxInsns` instructions, between device deadlines; deterministic. */
  run(maxInsns: number): RunResult {
    let done = 0;
    this.stopRequested = false;
    this.decodeCacheUsed = true;
    while (done < maxInsns) {
      if (this.exitCode !== undefined) {
        return { insns: done, stop: "exit", exitCode: this.exitCode };
      }
      this.tickDevices();
      let slice = maxInsns - done;
      const deadline = this.nextDeadlineNs();
      if (deadline !== null) {
        const per = this.nsPerInsn;
        const until = Number((deadline - this.nowNs() + per - 1n) / per);
        slice = Math.max(1, Math.min(slice, until));
      }
      // HTIF is polled at absolute instruction-count boundaries so that where a run stops never
      // depends on where it started (a restored snapshot stops at the same instruction).
      if (this.tohost !== undefined) {
        slice = Math.min(slice, HTIF_POLL - (this.cpu.instret % HTIF_POLL));
      }
      const n = this.cpu.run(slice);
      done += n;
      if (this.checkHtif()) return { insns: done, stop: "exit", exitCode: this.exitCode };
      if (this.stopRequested) return { insns: done, stop: "interrupted" };
      if (this.cpu.stopReason === "exit" && this.exitCode !== undefined) {
        return { insns: done, stop: "exit", exitCode: this.exitCode };
      }
      if (this.cpu.stopReason === "wfi") {
        // Idle: skip virtual time forward to the next deadline, as icount does while halted.
        const d = this.nextDeadlineNs();
        if (d === null) {
          this.tickDevices();
          if (this.cpu.halted) return { insns: done, stop: "idle" };
          continue;
        }
        const per = this.nsPerInsn;
        const skip = Number((d - this.nowNs() + per - 1n) / per);
        const step = Math.max(1, Math.min(skip, maxInsns - done));
        this.idle(step);
        done += step;
      }
    }
    return { insns: done, stop: "budget" };
  }

  /**
   * Options every save and load of this machine starts from (a session's capabilities), so
   * paths that only hold the machine (snapshot store, migration) honour them too.
   */
  streamDefaults?: () => { save?: Partial<SaveOptions>; load?: Partial<LoadStreamOptions> };

  /** Save a snapshot stream of the whole machine. */
  async save(w: StreamWriter, opts: Partial<SaveOptions> = {}): Promise<void> {
    const defaults = this.streamDefaults?.().save;
    await saveStream(w, this.registry, { machine: this.machineType, ...defaults, ...opts });
  }

  /** Load a snapshot stream; on any error the machine is unchanged. */
  async load(r: StreamReader, opts: Partial<LoadStreamOptions> = {}): Promise<LoadReport> {
    const defaults = this.streamDefaults?.().load;
    const report = await loadStream(r, this.registry, {
      machine: this.machineType,
      ...defaults,
      ...opts,
    });
    this.exitCode = undefined;
    return report;
  }

  /**
   * Forget decoded instructions on pages a load replaced. A machine that never ran has none, and
   * touching its whole decode cache would make it resident for nothing.
   */
  private dropDecoded(changed: Uint32Array): void {
    if (!this.decodeCacheUsed) return;
    const dec = this.ram.decoded;
    const perPage = PAGE_SIZE >>> 2;
    forEachPage(changed, (p) => dec.fill(0, p * perPage, (p + 1) * perPage));
  }
}

/** Interrupt numbers re-exported for device wiring. */
export { Irq };
