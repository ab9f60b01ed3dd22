/**
 * Typed errors of the snapshot store: a bad name, a name that exists or does not, a snapshot
 * whose file changed on disk since it was saved, an unreadable store. Each says which snapshot
 * and which file, so the shell can print it and go on.
 * @module
 */
import type { MigrationErrorKind } from "../../migration/errors.ts";

/** Why a store operation was refused or failed. */
export type StoreErrorReason =
  | "bad-name"
  | "exists"
  | "not-found"
  | "changed"
  | "metadata"
  | "io";

/** A store operation failed; nothing in the store was changed by the failed operation. */
export class StoreError extends Error {
  /** Machine-readable reason. */
  readonly reason: StoreErrorReason;
  /** Snapshot name concerned, when there is one. */
  readonly snapshot?: string;
  /** File concerned, when there is one. */
  readonly path?: string;
  /** Classification as for a MigrationError: a changed file is "corrupt", I/O "environment". */
  readonly kind?: MigrationErrorKind;

  constructor(
    reason: StoreErrorReason,
    message: string,
    where: { snapshot?: string; path?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StoreError";
    this.reason = reason;
    this.snapshot = where.snapshot;
    this.path = where.path;
    this.kind = reason === "changed" || reason === "metadata"
      ? "corrupt"
      : reason === "io"
      ? "environment"
      : undefined;
  }
}
