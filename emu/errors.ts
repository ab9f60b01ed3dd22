/**
 * Typed host-side errors of the emulator core (never guest traps, which are
 * architectural events handled inside the CPU).
 *
 * @module
 */

/** Base class so callers can tell emulator faults from other host errors. */
export class EmuError extends Error {
  /** Creates the error; `name` is set from the concrete class. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Why an ELF image was rejected; stable strings that tests and the CLI can match. */
export type ElfErrorReason =
  | "truncated"
  | "unreadable"
  | "not-elf"
  | "wrong-class"
  | "wrong-endianness"
  | "wrong-machine"
  | "wrong-type"
  | "bad-segment"
  | "segment-outside-ram";

/** Raised by the ELF loader for malformed or unsupported images, with a machine-readable reason. */
export class ElfError extends EmuError {
  /** Machine-readable category of the problem. */
  readonly reason: ElfErrorReason;
  /** Creates the error with a reason and a human message. */
  constructor(reason: ElfErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Raised by the bus when an access hits no region; the CPU turns it into an access-fault trap. */
export class BusError extends EmuError {
  /** Guest physical address that was accessed. */
  readonly addr: number;
  /** Whether the access was a store (else load or fetch). */
  readonly isWrite: boolean;
  /** Creates the error for an access at `addr`. */
  constructor(addr: number, isWrite: boolean, message?: string) {
    super(
      message ??
        `No device at address 0x${(addr >>> 0).toString(16).padStart(8, "0")} for ${
          isWrite ? "store" : "load"
        }`,
    );
    this.addr = addr >>> 0;
    this.isWrite = isWrite;
  }
}

/** Raised when a machine is configured inconsistently (overlapping regions, bad RAM size). */
export class ConfigError extends EmuError {}
