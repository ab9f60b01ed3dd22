/**
 * Which errors are the user's to read, by class: a typed error from the engine, the emulator,
 * the store or a tool is printed (with its kind when it has one) and the shell goes on; a usage
 * error also shows it was the command line; anything else is a bug and propagates.
 * @module
 */
import { CorruptOpError } from "../migration/corrupt/errors.ts";
import { MigrationError } from "../migration/errors.ts";
import { EmuError } from "../emu/errors.ts";
import { FuzzWorkerError } from "../harness/fuzz/pool.ts";
import { MigrationCancelledError } from "../harness/migration/cancel.ts";
import { MigrationParameterError } from "../harness/migration/params.ts";
import { MigrationUriError } from "../harness/migration/uri.ts";
import { DeviceStateError } from "../harness/store/device_state.ts";
import { StoreError } from "../harness/store/errors.ts";
import { FaultSpecError } from "../harness/wire/errors.ts";
import { UsageError } from "./commands/types.ts";

/** An `expect` that does not hold (exit status 1, the script names the line). */
export class ExpectationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpectationError";
  }
}

/** Errors about what the user typed: printed as usage errors (exit status 2). */
const USAGE_ERRORS: readonly (abstract new (...a: never[]) => Error)[] = [
  UsageError,
  MigrationParameterError,
  MigrationUriError,
  FaultSpecError,
];

/** Errors that report a fault of a stream, a file, the guest or the environment (exit 1). */
const USER_ERRORS: readonly (abstract new (...a: never[]) => Error)[] = [
  MigrationError,
  EmuError,
  StoreError,
  DeviceStateError,
  CorruptOpError,
  MigrationCancelledError,
  FuzzWorkerError,
  ExpectationError,
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.ConnectionRefused,
  Deno.errors.AddrInUse,
];

/** How a user-facing error is shown: its line and exit status; undefined for a bug. */
export function describeUserError(e: unknown): { line: string; code: number } | undefined {
  if (!(e instanceof Error)) return undefined;
  if (USAGE_ERRORS.some((c) => e instanceof c)) {
    return { line: `Usage error: ${e.message}`, code: 2 };
  }
  if (!USER_ERRORS.some((c) => e instanceof c)) return undefined;
  const kind = (e as { kind?: unknown }).kind;
  const name = e.name && e.name !== "Error" ? e.name : "Error";
  return { line: `${name}${typeof kind === "string" ? ` [${kind}]` : ""}: ${e.message}`, code: 1 };
}
