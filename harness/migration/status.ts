/**
 * What a live migration reports: QEMU's status names, one record per precopy round, the status
 * `migrate-status` shows (with the xbzrle and auto-converge figures) and the progress of a round.
 * @module
 */
import type { MigrationParameters } from "./params.ts";
import type { MigrationError } from "../../migration/errors.ts";
import type { PostcopyStatus } from "./postcopy_source.ts";
import {
  capabilitiesOn,
  type MigrationCapabilities,
  NO_MIGRATION_CAPABILITIES,
} from "./capabilities.ts";

/**
 * Where a migration is, with QEMU's status names (gave up or interrupted = "cancelled";
 * "pre-switchover": converged, guest stopped, waiting for migrate-continue; "postcopy-active":
 * the destination runs the guest and pulls the pages still here).
 */
export type MigrationState =
  | "setup"
  | "active"
  | "pre-switchover"
  | "postcopy-active"
  | "completed"
  | "failed"
  | "cancelled";

/** One precopy round: round 0 is the first full pass, later rounds resend dirtied pages. */
export interface RoundReport {
  /** Round number (0 = first full pass). */
  round: number;
  /** Pages sent with their bytes. */
  normalPages: number;
  /** Pages sent as ZERO records. */
  zeroPages: number;
  /** Pages sent as XBZRLE deltas (xbzrle on). */
  xbzrlePages: number;
  /** Stream bytes of this round. */
  bytes: number;
  /** Guest instructions run while those bytes were on the wire. */
  guestInsns: number;
  /** Pages the guest dirtied meanwhile. */
  dirtiedPages: number;
  /** auto-converge: the guest's throttle during this round, percent (0: none). */
  throttlePercent: number;
  /** Dirtied pages per second of virtual time. */
  dirtyRatePagesPerSecond: number;
  /** Pages left to send after this round. */
  pendingPages: number;
  /** Bytes of device state the stop-and-copy sends (measured after this round). */
  deviceBytes: number;
  /** Stop-and-copy time of the pending pages plus the device state at the bandwidth limit, ms. */
  expectedDowntimeMs: number;
}

/** Everything `migrate-status` shows. */
export interface MigrationStatus {
  /** Current state. */
  state: MigrationState;
  /** Where the stream goes, as given. */
  uri: string;
  /** Parameters in force. */
  parameters: MigrationParameters;
  /** QEMU migration capabilities that are on (`xbzrle`, `auto-converge`...). */
  capabilities: string[];
  /** XBZRLE figures (QEMU's `info migrate` xbzrle cache lines), null with xbzrle off. */
  xbzrle: XbzrleStatus | null;
  /** auto-converge: the guest's throttle now (QEMU's cpu-throttle-percentage), 0 when none. */
  throttlePercent: number;
  /** Rounds done (the first full pass included). */
  rounds: RoundReport[];
  /** Pages sent with their bytes, over all rounds and the stop-and-copy. */
  normalPages: number;
  /** Pages sent as ZERO records. */
  zeroPages: number;
  /** Stream bytes written. */
  bytes: number;
  /** Guest RAM in bytes. */
  ramBytes: number;
  /** Dirty rate of the last round, pages per virtual second. */
  dirtyRatePagesPerSecond: number;
  /** Expected downtime at the last decision, ms. */
  expectedDowntimeMs: number;
  /** Modelled downtime of the stop-and-copy (its bytes at the bandwidth limit), ms. */
  downtimeMs: number | null;
  /** Wall-clock time of the stop-and-copy including the transport's completion, ms. */
  downtimeWallMs: number | null;
  /** True when the rest fitted the downtime limit; false when forced or given up. */
  converged: boolean;
  /** True when the switch-over happened although precopy did not converge. */
  forced: boolean;
  /** True when the caller cancelled it (Ctrl-C) rather than precopy giving up. */
  interrupted: boolean;
  /** Guest instructions run during the migration. */
  guestInsns: number;
  /** The guest's retired-instruction count at the switch-over (where the destination resumes). */
  switchoverInstret: number | null;
  /** Modelled duration: stream bytes at the bandwidth limit, seconds. */
  virtualSeconds: number;
  /** Wall-clock duration, seconds. */
  wallSeconds: number;
  /** Postcopy figures once it switched to postcopy (null: precopy only). */
  postcopy: PostcopyStatus | null;
  /**
   * A postcopy migration failed after the switch-over: the guest can continue on neither side
   * (the source must not resume it).
   */
  guestLost: boolean;
  /** Things the user should know although it completed (a downtime past the limit). */
  warnings: string[];
  /** Why it failed or gave up. */
  reason?: string;
  /** The typed error of a failed migration. */
  error?: MigrationError;
}

/** QEMU's xbzrle counters of a migration. */
export interface XbzrleStatus {
  /** Cache size in bytes. */
  cacheSize: number;
  /** Pages sent as deltas. */
  pages: number;
  /** Delta bytes with their record headers (QEMU's "xbzrle transferred" less page headers). */
  bytes: number;
  /** Resent pages not found in the cache (sent whole). */
  cacheMisses: number;
  /** Deltas that would not fit a page (sent whole). */
  overflows: number;
  /** Dirty pages equal to their cached copy (not sent). */
  skipped: number;
}

/** Where a migration is within its round, for progress bars. */
export interface PrecopyProgress {
  /** Round under way (0 = the first full pass); in the stop-and-copy, the round after the last. */
  round: number;
  /** Sending the round's pages, running the guest meanwhile, or the stop-and-copy. */
  phase: "sending" | "running" | "completing";
  /** Pages of this round (or of the stop-and-copy) sent so far. */
  pagesSent: number;
  /** Pages this round (or the stop-and-copy) sends. */
  pagesTotal: number;
  /** Stream bytes written so far. */
  bytes: number;
  /** Dirty rate of the last round, pages per virtual second (0 before the first). */
  dirtyRatePagesPerSecond: number;
}

/** A fresh status for a migration to `uri`. */
export function initialStatus(
  uri: string,
  parameters: MigrationParameters,
  capabilities: MigrationCapabilities = NO_MIGRATION_CAPABILITIES,
): MigrationStatus {
  return {
    state: "setup",
    uri,
    parameters: { ...parameters },
    capabilities: capabilitiesOn(capabilities),
    xbzrle: null,
    throttlePercent: 0,
    rounds: [],
    normalPages: 0,
    zeroPages: 0,
    bytes: 0,
    ramBytes: 0,
    dirtyRatePagesPerSecond: 0,
    expectedDowntimeMs: 0,
    downtimeMs: null,
    downtimeWallMs: null,
    converged: false,
    forced: false,
    interrupted: false,
    warnings: [],
    postcopy: null,
    guestLost: false,
    guestInsns: 0,
    switchoverInstret: null,
    virtualSeconds: 0,
    wallSeconds: 0,
  };
}
