/**
 * The `virt` machine: QEMU's riscv32 virt memory map where the devices overlap (sifive_test,
 * goldfish RTC, ACLINT, PLIC, UART 16550A) plus our NVMe-style queue device, all wired to one
 * hart with virtual time. Device order is registration order, so section ids are stable.
 * @module
 */
import {
  CLINT_BASE,
  CLINT_SIZE,
  PLIC_BASE,
  PLIC_SIZE,
  RTC_BASE,
  RTC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  UART0_BASE,
  UART0_SIZE,
} from "./bus.ts";
import { Irq } from "./cpu/trap.ts";
import { Aclint } from "./devices/aclint.ts";
import { GoldfishRtc } from "./devices/goldfish_rtc.ts";
import { NvmeQueueDevice } from "./devices/nvme.ts";
import { SifivePlic } from "./devices/sifive_plic.ts";
import { SifiveTest } from "./devices/sifive_test.ts";
import { Uart16550 } from "./devices/uart16550.ts";
import type { LoadReport, LoadStreamOptions } from "../migration/sections/loadvm.ts";
import type { StreamReader } from "../migration/stream/reader.ts";
import { Machine, type MachineOptions } from "./machine.ts";

/** Base of the NVMe-style device (unused by QEMU's virt). */
export const NVME_BASE = 0x1010_0000;
/** Size of its MMIO window (registers + doorbells). */
export const NVME_SIZE = 0x2000;
/** PLIC sources of virt's devices. */
export const IRQ_UART0 = 10;
/** goldfish RTC PLIC source. */
export const IRQ_RTC = 11;
/** NVMe-style device PLIC source. */
export const IRQ_NVME = 12;

/** Options of the virt machine. */
export interface VirtOptions extends MachineOptions {
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /** Disk image of the NVMe-style device (default 1 MiB of zeros). */
  disk?: Uint8Array;
}

/** The virt machine with its devices reachable by name. */
export class VirtMachine extends Machine {
  /** UART 16550A at 0x10000000. */
  readonly uart: Uart16550;
  /** PLIC at 0x0c000000. */
  readonly plic: SifivePlic;
  /** ACLINT (mswi + mtimer) at 0x2000000. */
  readonly aclint: Aclint;
  /** goldfish RTC at 0x101000. */
  readonly rtc: GoldfishRtc;
  /** sifive_test finisher at 0x100000. */
  readonly finisher: SifiveTest;
  /** NVMe-style queue device at 0x10100000. */
  readonly nvme: NvmeQueueDevice;
  /** Everything the guest printed, for `console` and tests. */
  consoleText = "";

  constructor(opts: VirtOptions = {}) {
    super(opts);
    const clock = () => this.nowNs();
    this.finisher = new SifiveTest({
      onFinish: (e) => {
        if (e.kind === "exit") this.finish(e.code);
        else this.finish(0);
      },
    });
    this.attach("sifive_test", TEST_BASE, TEST_SIZE, this.finisher);
    this.plic = new SifivePlic({
      contexts: [(l) => this.cpu.setIrq(Irq.MEI, l), (l) => this.cpu.setIrq(Irq.SEI, l)],
    });
    this.rtc = new GoldfishRtc({ clock, irq: this.plic.irqLine(IRQ_RTC) });
    this.attach("goldfish_rtc", RTC_BASE, RTC_SIZE, this.rtc);
    this.aclint = new Aclint({
      clock,
      timerIrq: (_h, l) => this.cpu.setIrq(Irq.MTI, l),
      softIrq: (_h, l) => this.cpu.setIrq(Irq.MSI, l),
    });
    this.attach("aclint", CLINT_BASE, CLINT_SIZE, this.aclint);
    // The time CSR reads the mtimer, time_delta included, as QEMU 7.2's rdtime_fn does.
    this.cpu.timeSource = () => Number(this.aclint.mtimeAt(this.nowNs()));
    this.attach("plic", PLIC_BASE, PLIC_SIZE, this.plic);
    const decoder = new TextDecoder();
    this.uart = new Uart16550({
      clock,
      irq: this.plic.irqLine(IRQ_UART0),
      output: (b) => {
        this.consoleText += decoder.decode(new Uint8Array([b]), { stream: true });
        opts.console?.(b);
      },
    });
    this.attach("uart0", UART0_BASE, UART0_SIZE, this.uart);
    const ram = this.ram;
    this.nvme = new NvmeQueueDevice({
      dma: { read: (a, n) => ram.read(a, n), write: (a, b) => ram.write(a, b) },
      ramBase: ram.base,
      ramSize: ram.size,
      disk: opts.disk,
      irq: this.plic.irqLine(IRQ_NVME),
    });
    this.attach("nvme", NVME_BASE, NVME_SIZE, this.nvme);
  }

  /** Load a snapshot; then the PLIC re-reads the lines every device has re-driven. */
  override async load(r: StreamReader, opts?: Partial<LoadStreamOptions>): Promise<LoadReport> {
    const plic = this.plic.state;
    const report = await super.load(r, opts);
    if (this.plic.state !== plic) this.plic.settleLines(); // the load committed a PLIC record
    return report;
  }

  /** Type into the UART: bytes become receivable at the current virtual time. */
  sendInput(text: string | Uint8Array): void {
    this.uart.pushInput(text);
  }
}

/** The embedded default guest: the demo that uses every device. */
export const DEFAULT_GUEST = new URL("./guests/build/demo.elf", import.meta.url);
