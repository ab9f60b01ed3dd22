/**
 * NS16550A UART (QEMU `serial-mm`, reg-shift 0), as on QEMU's `virt` at 0x10000000, PLIC
 * source 10. Output goes to a sink immediately (no back-pressure, so the transmitter is always
 * empty again when a store completes). Input is a queue of bytes stamped with the virtual time
 * at which each becomes receivable; the queue is part of the state.
 *
 * Section `serial` v3 (min 2): QEMU's `vmstate_serial_mm` wrapping `vmstate_serial`, with the
 * same seven subsections, plus `serial/snapshell-input` (sent only when input is queued, so a
 * default stream is exactly QEMU's).
 *
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import {
  int32,
  struct,
  timer,
  uint16,
  uint32,
  uint8,
  varray,
  vbuffer,
  vmsd,
} from "../../migration/vmstate/fields.ts";
import { vmstateUint64 } from "../../migration/vmstate/infos.ts";
import type { AccessSize, MmioDevice } from "../bus.ts";
import {
  type DeviceSection,
  earliest,
  inRange,
  type IrqLine,
  NO_IRQ,
  type SnapshotDevice,
  type TimedDevice,
  type VirtualClock,
} from "./device.ts";

// Register offsets (reg-shift 0).
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

/** Interrupt enable bits. */
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_RLSI = 0x04;
const IER_MSI = 0x08;

/** IIR identification values. */
const IIR_NO_INT = 0x01;
const IIR_ID = 0x06;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_FE = 0xc0;

const LCR_DLAB = 0x80;

const MCR_LOOP = 0x10;
const MCR_OUT2 = 0x08;

/** Line status bits. */
export const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_BI = 0x10;
/** Transmit holding register empty. */
export const LSR_THRE = 0x20;
/** Transmitter empty. */
export const LSR_TEMT = 0x40;
const LSR_INT_ANY = 0x1e;

const MSR_DCD = 0x80;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;
const MSR_ANY_DELTA = 0x0f;

const FCR_FE = 0x01;
const FCR_RFR = 0x02;
const FCR_XFR = 0x04;

/** FIFO depth of a 16550A. */
export const UART_FIFO_LENGTH = 16;
const MAX_XMIT_RETRY = 4;
/** Most bytes the input queue holds (a loaded stream may not exceed it). */
export const UART_INPUT_MAX = 1 << 20;
/** Baud base QEMU's virt machine gives its UART (3.6864 MHz / 16 / ~0.577). */
export const VIRT_UART_BAUDBASE = 399193;
const NS_PER_SEC = 1_000_000_000n;

/** QEMU's Fifo8: a ring of `capacity` bytes (capacity is configuration, never on the wire). */
export interface Fifo8 {
  /** Ring storage, `capacity` bytes. */
  data: Uint8Array;
  /** Ring size (16). */
  capacity: number;
  /** Index of the oldest byte. */
  head: number;
  /** Bytes held. */
  num: number;
}

/** A fresh empty FIFO. */
export function createFifo8(capacity = UART_FIFO_LENGTH): Fifo8 {
  return { data: new Uint8Array(capacity), capacity, head: 0, num: 0 };
}

function fifoPush(f: Fifo8, b: number): void {
  f.data[(f.head + f.num) % f.capacity] = b;
  f.num++;
}

function fifoPop(f: Fifo8): number {
  const b = f.data[f.head];
  f.head = (f.head + 1) % f.capacity;
  f.num--;
  return b;
}

function fifoReset(f: Fifo8): void {
  f.head = 0;
  f.num = 0;
}

/** The UART's registers and queues: QEMU's SerialState fields plus the timed input queue. */
export interface SerialRegs {
  /** Baud divisor latch (DLL | DLM << 8). */
  divider: number;
  /** Receive buffer (non-FIFO mode). */
  rbr: number;
  /** Interrupt enable. */
  ier: number;
  /** Interrupt identification (FIFO bits 7:6 included). */
  iir: number;
  /** Line control. */
  lcr: number;
  /** Modem control. */
  mcr: number;
  /** Line status. */
  lsr: number;
  /** Modem status. */
  msr: number;
  /** Scratch. */
  scr: number;
  /** FIFO control as last written (sticky bits only); not on the wire, see fcrVmstate. */
  fcr: number;
  /** Shadow of `fcr` for the stream (filled in preSave, replayed in postLoad). */
  fcrVmstate: number;
  /** THR-empty interrupt pending (0/1; -1 while loading means "derive from IIR"). */
  thrIpending: number;
  /** Transmit retries pending (always 0 here: the sink never blocks). */
  tsrRetry: number;
  /** Transmit holding register. */
  thr: number;
  /** Transmit shift register. */
  tsr: number;
  /** Receive FIFO. */
  recvFifo: Fifo8;
  /** Transmit FIFO. */
  xmitFifo: Fifo8;
  /** Character-timeout deadline (virtual ns), -1n when not armed. */
  fifoTimeoutTimer: bigint;
  /** Character-timeout interrupt pending (0/1). */
  timeoutIpending: number;
  /** Modem status polling (-1: the backend has no modem lines, as with any non-tty). */
  pollMsl: number;
  /** Modem status poll deadline (never armed here; kept for the stream). */
  modemStatusPoll: bigint;
  /** Queued input bytes. */
  inputCount: number;
  /** Virtual time (ns) at which each queued byte becomes receivable, non-decreasing. */
  inputTime: bigint[];
  /** The queued bytes (`inputCount` long). */
  inputData: Uint8Array;
}

/** The section record: QEMU's SerialMM has the SerialState as its `serial` member. */
export interface Uart16550State {
  /** The UART proper. */
  serial: SerialRegs;
}

/** Reset values (QEMU's serial_reset with a non-tty backend). */
export function createSerialRegs(): SerialRegs {
  return {
    divider: 0x0c,
    rbr: 0,
    ier: 0,
    iir: IIR_NO_INT,
    lcr: 0,
    mcr: MCR_OUT2,
    lsr: LSR_TEMT | LSR_THRE,
    msr: MSR_DCD | MSR_DSR | MSR_CTS,
    scr: 0,
    fcr: 0,
    fcrVmstate: 0,
    thrIpending: 0,
    tsrRetry: 0,
    thr: 0,
    tsr: 0,
    recvFifo: createFifo8(),
    xmitFifo: createFifo8(),
    fifoTimeoutTimer: -1n,
    timeoutIpending: 0,
    pollMsl: -1,
    modemStatusPoll: -1n,
    inputCount: 0,
    inputTime: [],
    inputData: new Uint8Array(0),
  };
}

/** Receive FIFO interrupt trigger level selected by FCR bits 7:6. */
function recvFifoItl(fcr: number): number {
  return [1, 4, 8, 14][(fcr >> 6) & 3];
}

/** QEMU's serial_write_fcr: store the sticky FCR bits and mirror FIFO-enable into IIR. */
function writeFcr(s: SerialRegs, val: number): void {
  s.fcr = val;
  if (val & FCR_FE) s.iir |= IIR_FE;
  else s.iir &= ~IIR_FE;
}

/** Wiring of a UART. */
export interface Uart16550Options {
  /** Virtual clock. */
  clock: VirtualClock;
  /** PLIC source line (virt: source 10). */
  irq?: IrqLine;
  /** Receives every transmitted byte, synchronously. */
  output?: (byte: number) => void;
  /** Baud base (default QEMU virt's 399193). */
  baudbase?: number;
}

/** An NS16550A with 16-byte FIFOs, deterministic input and immediate output. */
export class Uart16550 implements MmioDevice, TimedDevice, SnapshotDevice {
  /** The live state record (replaced wholesale by {@link commit}). */
  state: Uart16550State = { serial: createSerialRegs() };
  private readonly clock: VirtualClock;
  private readonly irq: IrqLine;
  private readonly output: (byte: number) => void;
  private readonly baudbase: number;

  constructor(opts: Uart16550Options) {
    this.clock = opts.clock;
    this.irq = opts.irq ?? NO_IRQ;
    this.output = opts.output ?? (() => {});
    this.baudbase = opts.baudbase ?? VIRT_UART_BAUDBASE;
  }

  private get s(): SerialRegs {
    return this.state.serial;
  }

  /** Power-on reset. */
  reset(): void {
    this.state = { serial: createSerialRegs() };
    this.irq(false);
  }

  /** Nanoseconds one character takes on the line at the current divisor and frame format. */
  charTransmitTime(): bigint {
    const s = this.s;
    let frame = 1 + (s.lcr & 0x03) + 5 + (s.lcr & 0x04 ? 2 : 1);
    if (s.lcr & 0x08) frame++;
    // speed = baudbase / divider (3500 baud when the divider is 0).
    if (s.divider === 0) return (NS_PER_SEC / 3500n) * BigInt(frame);
    return (NS_PER_SEC * BigInt(s.divider) * BigInt(frame)) / BigInt(this.baudbase);
  }

  /**
   * Queues input bytes that arrive on the line from virtual time `at` (default: now), one
   * character time apart and never before bytes already queued.
   */
  pushInput(bytes: Uint8Array | string, at?: bigint): void {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    if (data.length === 0) return;
    const s = this.s;
    if (s.inputCount + data.length > UART_INPUT_MAX) {
      throw new RangeError(`UART input queue is limited to ${UART_INPUT_MAX} bytes`);
    }
    const step = this.charTransmitTime();
    let t = at ?? this.clock();
    if (s.inputCount > 0) {
      const last = s.inputTime[s.inputCount - 1] + step;
      if (last > t) t = last;
    }
    const merged = new Uint8Array(s.inputCount + data.length);
    merged.set(s.inputData.subarray(0, s.inputCount));
    merged.set(data, s.inputCount);
    for (let i = 0; i < data.length; i++) {
      s.inputTime.push(t);
      t += step;
    }
    s.inputData = merged;
    s.inputCount = merged.length;
    this.deliverInput(this.clock());
  }

  /** Bytes still waiting to be received. */
  get pendingInput(): number {
    return this.s.inputCount;
  }

  // ---- MMIO ----

  /** Reads a register; wider accesses read the byte register at `offset`. */
  read(offset: number, _size: AccessSize): number {
    const s = this.s;
    switch (offset) {
      case RBR_THR_DLL: {
        if (s.lcr & LCR_DLAB) return s.divider & 0xff;
        let ret: number;
        if (s.fcr & FCR_FE) {
          ret = s.recvFifo.num === 0 ? 0 : fifoPop(s.recvFifo);
          if (s.recvFifo.num === 0) {
            s.lsr &= ~(LSR_DR | LSR_BI);
          } else {
            s.fifoTimeoutTimer = this.clock() + this.charTransmitTime() * 4n;
          }
          s.timeoutIpending = 0;
        } else {
          ret = s.rbr;
          s.lsr &= ~(LSR_DR | LSR_BI);
        }
        this.updateIrq();
        if (!(s.mcr & MCR_LOOP)) this.deliverInput(this.clock());
        return ret;
      }
      case IER_DLM:
        return s.lcr & LCR_DLAB ? (s.divider >> 8) & 0xff : s.ier;
      case IIR_FCR: {
        const ret = s.iir;
        if ((ret & IIR_ID) === IIR_THRI) {
          s.thrIpending = 0;
          this.updateIrq();
        }
        return ret;
      }
      case LCR:
        return s.lcr;
      case MCR:
        return s.mcr;
      case LSR: {
        const ret = s.lsr;
        if (s.lsr & (LSR_BI | LSR_OE)) {
          s.lsr &= ~(LSR_BI | LSR_OE);
          this.updateIrq();
        }
        return ret;
      }
      case MSR: {
        if (s.mcr & MCR_LOOP) {
          return ((s.mcr & 0x0c) << 4) | ((s.mcr & 0x02) << 3) | ((s.mcr & 0x01) << 5);
        }
        const ret = s.msr;
        if (s.msr & MSR_ANY_DELTA) {
          s.msr &= 0xf0;
          this.updateIrq();
        }
        return ret;
      }
      case SCR:
        return s.scr;
      default:
        return 0;
    }
  }

  /** Writes a register; only the low byte of `value` is used. */
  write(offset: number, _size: AccessSize, value: number): void {
    const s = this.s;
    const val = value & 0xff;
    switch (offset) {
      case RBR_THR_DLL:
        if (s.lcr & LCR_DLAB) {
          s.divider = (s.divider & 0xff00) | val;
          return;
        }
        s.thr = val;
        if (s.fcr & FCR_FE) {
          if (s.xmitFifo.num === s.xmitFifo.capacity) fifoPop(s.xmitFifo);
          fifoPush(s.xmitFifo, val);
        }
        s.thrIpending = 0;
        s.lsr &= ~(LSR_THRE | LSR_TEMT);
        this.updateIrq();
        if (s.tsrRetry === 0) this.xmit();
        return;
      case IER_DLM: {
        if (s.lcr & LCR_DLAB) {
          s.divider = (s.divider & 0x00ff) | (val << 8);
          return;
        }
        const changed = (s.ier ^ val) & 0x0f;
        s.ier = val & 0x0f;
        if (changed & IER_THRI) {
          s.thrIpending = s.ier & IER_THRI && s.lsr & LSR_THRE ? 1 : 0;
        }
        if (changed) this.updateIrq();
        return;
      }
      case IIR_FCR: {
        let v = val;
        if ((v ^ s.fcr) & FCR_FE) v |= FCR_XFR | FCR_RFR;
        if (v & FCR_RFR) {
          s.lsr &= ~(LSR_DR | LSR_BI);
          s.fifoTimeoutTimer = -1n;
          s.timeoutIpending = 0;
          fifoReset(s.recvFifo);
        }
        if (v & FCR_XFR) {
          s.lsr |= LSR_THRE;
          s.thrIpending = 1;
          fifoReset(s.xmitFifo);
        }
        writeFcr(s, v & 0xc9);
        this.updateIrq();
        this.deliverInput(this.clock());
        return;
      }
      case LCR:
        s.lcr = val;
        return;
      case MCR:
        s.mcr = val & 0x1f;
        return;
      case SCR:
        s.scr = val;
        return;
      default:
        return; // LSR and MSR are read-only.
    }
  }

  // ---- time ----

  /** The character timeout or the next queued byte, whichever comes first. */
  nextDeadline(): bigint | null {
    const s = this.s;
    const timeout = s.fifoTimeoutTimer >= 0n ? s.fifoTimeoutTimer : null;
    const input = s.inputCount > 0 && this.canReceive() ? s.inputTime[0] : null;
    return earliest(timeout, input);
  }

  /** Fires the character timeout and receives queued bytes that are due. */
  tick(nowNs: bigint): void {
    const s = this.s;
    this.deliverInput(nowNs);
    if (s.fifoTimeoutTimer >= 0n && nowNs >= s.fifoTimeoutTimer) {
      s.fifoTimeoutTimer = -1n;
      if (s.recvFifo.num) {
        s.timeoutIpending = 1;
        this.updateIrq();
      }
    }
  }

  // ---- snapshot ----

  /** Section `serial`, instance 0 unless the machine says otherwise. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateUart16550,
      state: () => this.state,
      commit: (staged: Uart16550State) => this.commit(staged),
    }];
  }

  /** Adopts a loaded (already validated) record and re-derives the IRQ level and timers. */
  commit(staged: Uart16550State): void {
    this.state = staged;
    const s = this.s;
    if (s.tsrRetry > 0) {
      // QEMU re-arms a watch that retries the transmission; our sink is always ready.
      s.tsrRetry = 0;
      this.output(s.tsr);
      if (s.xmitFifo.num > 0) this.xmitLoop();
      s.lsr |= LSR_TEMT;
    }
    this.updateIrq();
  }

  // ---- internals ----

  private canReceive(): boolean {
    const s = this.s;
    if (s.mcr & MCR_LOOP) return false;
    if (s.fcr & FCR_FE) return s.recvFifo.num < s.recvFifo.capacity;
    return !(s.lsr & LSR_DR);
  }

  private deliverInput(now: bigint): void {
    const s = this.s;
    let n = 0;
    while (n < s.inputCount && s.inputTime[n] <= now && this.canReceive()) {
      this.receive(s.inputData[n], now);
      n++;
    }
    if (n > 0) {
      s.inputTime.splice(0, n);
      s.inputData = s.inputData.slice(n, s.inputCount);
      s.inputCount -= n;
    }
  }

  private receive(b: number, now: bigint): void {
    const s = this.s;
    if (s.fcr & FCR_FE) {
      if (s.recvFifo.num < s.recvFifo.capacity) fifoPush(s.recvFifo, b);
      else s.lsr |= LSR_OE;
      s.lsr |= LSR_DR;
      s.fifoTimeoutTimer = now + this.charTransmitTime() * 4n;
    } else {
      if (s.lsr & LSR_DR) s.lsr |= LSR_OE;
      s.rbr = b;
      s.lsr |= LSR_DR;
    }
    this.updateIrq();
  }

  private xmit(): void {
    this.xmitLoop();
    this.s.lsr |= LSR_TEMT;
  }

  private xmitLoop(): void {
    const s = this.s;
    do {
      if (s.fcr & FCR_FE) {
        if (s.xmitFifo.num === 0) break;
        s.tsr = fifoPop(s.xmitFifo);
        if (s.xmitFifo.num === 0) s.lsr |= LSR_THRE;
      } else {
        s.tsr = s.thr;
        s.lsr |= LSR_THRE;
      }
      if (s.lsr & LSR_THRE && !s.thrIpending) {
        s.thrIpending = 1;
        this.updateIrq();
      }
      if (s.mcr & MCR_LOOP) this.receive(s.tsr, this.clock());
      else this.output(s.tsr);
    } while (!(s.lsr & LSR_THRE));
  }

  /** QEMU's serial_update_irq: pick the highest-priority cause, mirror it in IIR, drive the line. */
  private updateIrq(): void {
    const s = this.s;
    let id = IIR_NO_INT;
    if (s.ier & IER_RLSI && s.lsr & LSR_INT_ANY) {
      id = IIR_RLSI;
    } else if (s.ier & IER_RDI && s.timeoutIpending) {
      id = IIR_CTI;
    } else if (
      s.ier & IER_RDI && s.lsr & LSR_DR &&
      (!(s.fcr & FCR_FE) || s.recvFifo.num >= recvFifoItl(s.fcr))
    ) {
      id = IIR_RDI;
    } else if (s.ier & IER_THRI && s.thrIpending) {
      id = IIR_THRI;
    } else if (s.ier & IER_MSI && s.msr & MSR_ANY_DELTA) {
      id = IIR_MSI;
    }
    s.iir = id | (s.iir & 0xf0);
    this.irq(id !== IIR_NO_INT);
  }
}

// ---- migration ----

function fail(reason: string): never {
  throw new StateValidationError(reason);
}

/** QEMU's `Fifo8` description (util/fifo8.c): the buffer's size is the configured capacity. */
export const vmstateFifo8 = vmsd<Fifo8>({
  name: "Fifo8",
  versionId: 1,
  minimumVersionId: 1,
  fields: [
    vbuffer("data", "capacity", { sizeIsConfig: true }),
    uint32("head"),
    uint32("num"),
  ],
  postLoad(f) {
    // CVE-2013-4533 class: indices from the stream must stay inside the ring.
    if (!inRange(f.head, 0, f.capacity - 1)) fail(`Fifo8 head ${f.head} >= ${f.capacity}`);
    if (!inRange(f.num, 0, f.capacity)) fail(`Fifo8 num ${f.num} > ${f.capacity}`);
  },
});

const vmstateSerialThrIpending = vmsd<SerialRegs>({
  name: "serial/thr_ipending",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => (s.ier & IER_THRI ? s.thrIpending !== +((s.iir & IIR_ID) === IIR_THRI) : false),
  fields: [int32("thr_ipending", { key: "thrIpending" })],
});

const vmstateSerialTsr = vmsd<SerialRegs>({
  name: "serial/tsr",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.tsrRetry !== 0,
  fields: [uint32("tsr_retry", { key: "tsrRetry" }), uint8("thr"), uint8("tsr")],
});

const vmstateSerialRecvFifo = vmsd<SerialRegs>({
  name: "serial/recv_fifo",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.recvFifo.num !== 0,
  fields: [struct("recv_fifo", vmstateFifo8, { key: "recvFifo" })],
});

const vmstateSerialXmitFifo = vmsd<SerialRegs>({
  name: "serial/xmit_fifo",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.xmitFifo.num !== 0,
  fields: [struct("xmit_fifo", vmstateFifo8, { key: "xmitFifo" })],
});

const vmstateSerialFifoTimeoutTimer = vmsd<SerialRegs>({
  name: "serial/fifo_timeout_timer",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.fifoTimeoutTimer >= 0n,
  fields: [timer("fifo_timeout_timer", { key: "fifoTimeoutTimer" })],
});

const vmstateSerialTimeoutIpending = vmsd<SerialRegs>({
  name: "serial/timeout_ipending",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.timeoutIpending !== 0,
  fields: [int32("timeout_ipending", { key: "timeoutIpending" })],
});

const vmstateSerialPoll = vmsd<SerialRegs>({
  name: "serial/poll",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.pollMsl >= 0,
  fields: [
    int32("poll_msl", { key: "pollMsl" }),
    timer("modem_status_poll", { key: "modemStatusPoll" }),
  ],
});

/**
 * snapshell extension: the timed input queue. Only sent while bytes are queued, so streams of
 * an idle UART stay byte-identical to QEMU's.
 */
const vmstateSerialSnapshellInput = vmsd<SerialRegs>({
  name: "serial/snapshell-input",
  versionId: 1,
  minimumVersionId: 1,
  needed: (s) => s.inputCount > 0,
  fields: [
    uint32("input_count", { key: "inputCount" }),
    varray("input_time", vmstateUint64, "inputCount", {
      key: "inputTime",
      alloc: true,
      max: UART_INPUT_MAX,
    }),
    vbuffer("input_data", "inputCount", { key: "inputData", alloc: true }),
  ],
  postLoad(s) {
    if (!inRange(s.inputCount, 0, UART_INPUT_MAX)) {
      fail(`Input queue of ${s.inputCount} bytes exceeds ${UART_INPUT_MAX}`);
    }
    for (let i = 0; i < s.inputCount; i++) {
      const t = s.inputTime[i];
      if (t < 0n || t >= 1n << 63n || (i > 0 && t < s.inputTime[i - 1])) {
        fail(`Input byte ${i} has time ${t}, not a non-decreasing time >= 0`);
      }
    }
  },
});

/** QEMU's `vmstate_serial` (the SerialState inside the `serial` section). */
export const vmstateSerial = vmsd<SerialRegs>({
  name: "serial",
  versionId: 3,
  minimumVersionId: 2,
  preSave(s) {
    s.fcrVmstate = s.fcr;
  },
  preLoad(s) {
    // The staged copy starts from the live record: state that only travels in subsections
    // must start from its "not sent" value, as on QEMU's freshly reset destination.
    s.thrIpending = -1;
    s.tsrRetry = 0;
    fifoReset(s.recvFifo);
    fifoReset(s.xmitFifo);
    s.fifoTimeoutTimer = -1n;
    s.timeoutIpending = 0;
    s.pollMsl = -1;
    s.modemStatusPoll = -1n;
    s.inputCount = 0;
    s.inputTime = [];
    s.inputData = new Uint8Array(0);
  },
  postLoad(s, version) {
    if (version < 3) s.fcrVmstate = 0;
    if (s.thrIpending === -1) s.thrIpending = +((s.iir & IIR_ID) === IIR_THRI);
    if (!inRange(s.thrIpending, 0, 1)) fail(`thr_ipending ${s.thrIpending} is not 0 or 1`);
    if (!inRange(s.timeoutIpending, 0, 1)) {
      fail(`timeout_ipending ${s.timeoutIpending} is not 0 or 1`);
    }
    if (s.tsrRetry > 0) {
      if (s.lsr & LSR_TEMT) fail(`Inconsistent state: tsr empty, tsr_retry=${s.tsrRetry}`);
      if (s.tsrRetry > MAX_XMIT_RETRY) s.tsrRetry = MAX_XMIT_RETRY;
    } else if (!(s.lsr & LSR_TEMT)) {
      fail("Inconsistent state: tsr not empty, tsr_retry=0");
    }
    if (s.xmitFifo.num > 0 && s.lsr & LSR_TEMT) {
      fail(`Inconsistent state: ${s.xmitFifo.num} bytes to transmit but LSR.TEMT is set`);
    }
    if (s.fifoTimeoutTimer < -1n) fail(`fifo_timeout_timer ${s.fifoTimeoutTimer} < -1`);
    if (s.modemStatusPoll < -1n) fail(`modem_status_poll ${s.modemStatusPoll} < -1`);
    writeFcr(s, s.fcrVmstate & 0xc9);
  },
  fields: [
    uint16("divider", { version: 2 }),
    uint8("rbr"),
    uint8("ier"),
    uint8("iir"),
    uint8("lcr"),
    uint8("mcr"),
    uint8("lsr"),
    uint8("msr"),
    uint8("scr"),
    uint8("fcr_vmstate", { key: "fcrVmstate", version: 3 }),
  ],
  subsections: [
    vmstateSerialThrIpending,
    vmstateSerialTsr,
    vmstateSerialRecvFifo,
    vmstateSerialXmitFifo,
    vmstateSerialFifoTimeoutTimer,
    vmstateSerialTimeoutIpending,
    vmstateSerialPoll,
    vmstateSerialSnapshellInput,
  ],
});

/** Section `serial` v3/min 2: QEMU's `vmstate_serial_mm`, one struct member. */
export const vmstateUart16550 = vmsd<Uart16550State>({
  name: "serial",
  versionId: 3,
  minimumVersionId: 2,
  fields: [struct("serial", vmstateSerial)],
});
