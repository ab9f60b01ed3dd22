/**
 * SiFive test finisher (QEMU `riscv.sifive.test`, virt at 0x00100000): a store to offset 0
 * ends the run. Low 16 bits 0x5555 = pass (exit 0), 0x3333 = fail with exit code in bits
 * 31:16, 0x7777 = reset request. Other values and offsets are ignored.
 *
 * No state: like QEMU 7.2 (which has no VMSD for it and no section in the stream), the
 * finisher holds nothing between accesses, so it registers no section.
 *
 * @module
 */
import type { AccessSize, MmioDevice } from "../bus.ts";
import type { DeviceSection, SnapshotDevice } from "./device.ts";

/** Low half of a failing exit: the code is in bits 31:16. */
export const FINISHER_FAIL = 0x3333;
/** Successful exit. */
export const FINISHER_PASS = 0x5555;
/** Reset request. */
export const FINISHER_RESET = 0x7777;

/** What the guest asked the finisher for. */
export type FinisherEvent =
  | { kind: "exit"; code: number }
  | { kind: "reset" };

/** Wiring of the finisher. */
export interface SifiveTestOptions {
  /** Called once per finishing store; the machine stops or resets itself. */
  onFinish: (event: FinisherEvent) => void;
}

/** The test finisher: write-only, reads 0. */
export class SifiveTest implements MmioDevice, SnapshotDevice {
  private readonly onFinish: (event: FinisherEvent) => void;

  constructor(opts: SifiveTestOptions) {
    this.onFinish = opts.onFinish;
  }

  /** Always 0. */
  read(_offset: number, _size: AccessSize): number {
    return 0;
  }

  /** A 16- or 32-bit store at offset 0 may finish the run (QEMU: 2..4-byte accesses). */
  write(offset: number, size: AccessSize, value: number): void {
    if (offset !== 0 || size === 1) return;
    const status = value & 0xffff;
    const code = (value >>> 16) & 0xffff;
    if (status === FINISHER_PASS) this.onFinish({ kind: "exit", code: 0 });
    else if (status === FINISHER_FAIL) this.onFinish({ kind: "exit", code });
    else if (status === FINISHER_RESET) this.onFinish({ kind: "reset" });
  }

  /** None: the finisher has no state. */
  sections(): DeviceSection[] {
    return [];
  }
}
