/**
 * The `virt` machine: QEMU's riscv32 virt memory map where the devices overlap (sifive_test,
 * goldfish RTC, ACLINT, PLIC, UART 16550A) plus our NVMe-style queue device, all wired to one
 * hart with virtual time, each where the board table (`board.ts`) puts it. Device order is
 * registration order, so section ids are stable.
 * @module
 */
import { type BoardDevice, VIRT_BOARD } from "./board.ts";
import { Irq } from "./cpu/trap.ts";
import { Aclint } from "./devices/aclint.ts";
import { GoldfishRtc } from "./devices/goldfish_rtc.ts";
import { NvmeQueueDevice } from "./devices/nvme.ts";
import { SifivePlic } from "./devices/sifive_plic.ts";
import { SifiveTest } from "./devices/sifive_test.ts";
import { Uart16550 } from "./devices/uart16550.ts";
import { Machine, type MachineOptions } from "./machine.ts";

/** Options of the virt machine. */
export interface VirtOptions extends MachineOptions {
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /** Disk image of the NVMe-style device (default 1 MiB of zeros). */
  disk?: Uint8Array;
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
  /** NVMe-style queue device (`VIRT_BOARD.nvme`). */
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
    this.place(VIRT_BOARD.finisher, this.finisher);
    this.plic = new SifivePlic({
      contexts: [(l) => this.cpu.setIrq(Irq.MEI, l), (l) => this.cpu.setIrq(Irq.SEI, l)],
    });
    this.rtc = new GoldfishRtc({ clock, irq: this.plic.irqLine(VIRT_BOARD.rtc.irq) });
    this.place(VIRT_BOARD.rtc, this.rtc);
    this.aclint = new Aclint({
      clock,
      timerIrq: (_h, l) => this.cpu.setIrq(Irq.MTI, l),
      softIrq: (_h, l) => this.cpu.setIrq(Irq.MSI, l),
    });
    this.place(VIRT_BOARD.aclint, this.aclint);
    this.place(VIRT_BOARD.plic, this.plic);
    // The time CSR reads the mtimer, time_delta included, as QEMU 7.2's rdtime_fn does.
    this.cpu.timeSource = () => Number(this.aclint.mtimeAt(this.nowNs()));
    const decoder = new TextDecoder();
    this.uart = new Uart16550({
      clock,
      irq: this.plic.irqLine(VIRT_BOARD.uart0.irq),
      output: (b) => {
        this.consoleText += decoder.decode(new Uint8Array([b]), { stream: true });
        opts.console?.(b);
      },
    });
    this.place(VIRT_BOARD.uart0, this.uart);
    const ram = this.ram;
    this.nvme = new NvmeQueueDevice({
      dma: { read: (a, n) => ram.read(a, n), write: (a, b) => ram.write(a, b) },
      ramBase: ram.base,
      ramSize: ram.size,
      disk: opts.disk,
      irq: this.plic.irqLine(VIRT_BOARD.nvme.irq),
    });
    this.place(VIRT_BOARD.nvme, this.nvme);
    // Every commit (load, `set`, fork, fuzz reset) ends with the PLIC re-reading the lines the
    // devices committed with it re-drove.
    this.registry.afterCommit(() => this.plic.settleLines());
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
