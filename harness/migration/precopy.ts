/**
 * Live migration by precopy, as QEMU does it: the block list, a first pass over every page while
 * the guest keeps running, then rounds of the pages it dirtied meanwhile, until what is left fits
 * the downtime limit at the bandwidth limit; then the guest stops and the rest (last dirty pages
 * and every device) is copied. When the rounds run out first it says so and either gives up (the
 * source keeps running, nothing lost) or forces the switch-over, as the parameters say.
 *
 * Time is the guest's virtual time: while a round's bytes are on the wire (bytes / bandwidth
 * seconds), the guest runs for that many seconds at 100 MHz, so a migration is reproducible.
 * Pacing the real transport is the transport's business ({@link ThrottledSink}).
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { MigrationError } from "../../migration/errors.ts";
import {
  type SaveOptions,
  writeCompletion,
  writeHeader,
  writeIteration,
  writeSetup,
} from "../../migration/sections/savevm.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { checkParameters, insnsForBytes, type MigrationParameters, VIRTUAL_HZ } from "./params.ts";
import type { Outgoing } from "./transport.ts";

/** Where a migration is, with QEMU's status names (gave up = "cancelled"). */
export type MigrationState = "setup" | "active" | "completed" | "failed" | "cancelled";

/** One precopy round: round 0 is the first full pass, later rounds resend dirtied pages. */
export interface RoundReport {
  /** Round number (0 = first full pass). */
  round: number;
  /** Pages sent with their bytes. */
  normalPages: number;
  /** Pages sent as ZERO records. */
  zeroPages: number;
  /** Stream bytes of this round. */
  bytes: number;
  /** Guest instructions run while those bytes were on the wire. */
  guestInsns: number;
  /** Pages the guest dirtied meanwhile. */
  dirtiedPages: number;
  /** Dirtied pages per second of virtual time. */
  dirtyRatePagesPerSecond: number;
  /** Pages left to send after this round. */
  pendingPages: number;
  /** Stop-and-copy time the pending pages would take at the bandwidth limit, in ms. */
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
  /** Guest instructions run during the migration. */
  guestInsns: number;
  /** The guest's retired-instruction count at the switch-over (where the destination resumes). */
  switchoverInstret: number | null;
  /** Modelled duration: stream bytes at the bandwidth limit, seconds. */
  virtualSeconds: number;
  /** Wall-clock duration, seconds. */
  wallSeconds: number;
  /** Why it failed or gave up. */
  reason?: string;
  /** The typed error of a failed migration. */
  error?: MigrationError;
}

/** Progress callbacks. */
export interface PrecopyHooks {
  /** After each round's dirty sync, with the decision still to come. */
  onRound?(round: RoundReport, status: MigrationStatus): void;
}

/** A fresh status for a migration to `uri`. */
export function initialStatus(uri: string, parameters: MigrationParameters): MigrationStatus {
  return {
    state: "setup",
    uri,
    parameters: { ...parameters },
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
    guestInsns: 0,
    switchoverInstret: null,
    virtualSeconds: 0,
    wallSeconds: 0,
  };
}

/**
 * Migrate `machine` into `out` by precopy. Resolves to the final status: completed, cancelled
 * (gave up: the source keeps running, nothing sent counts) or failed (with a typed error; the
 * source keeps running). Only errors that are bugs are thrown.
 */
export async function precopy(
  machine: Machine,
  out: Outgoing,
  uri: string,
  parameters: MigrationParameters,
  hooks: PrecopyHooks = {},
): Promise<MigrationStatus> {
  const params = checkParameters({ ...parameters });
  const status = initialStatus(uri, params);
  const t0 = performance.now();
  const ram = machine.ramSection;
  const reg = machine.registry;
  const opts: SaveOptions = { machine: machine.machineType, ...machine.streamDefaults?.().save };
  const w = new StreamWriter(out.sink);
  const bw = params.maxBandwidth;
  status.ramBytes = machine.ram.size;
  const finish = (state: MigrationState) => {
    status.state = state;
    status.bytes = w.offset;
    status.normalPages = ram.stats.normalPages;
    status.zeroPages = ram.stats.zeroPages;
    status.virtualSeconds = w.offset / bw;
    status.wallSeconds = (performance.now() - t0) / 1000;
    return status;
  };
  try {
    writeHeader(w, opts);
    await writeSetup(w, reg, opts);
    status.state = "active";
    for (let round = 0;; round++) {
      const before = { offset: w.offset, normal: ram.stats.normalPages, zero: ram.stats.zeroPages };
      await writeIteration(w, reg, opts);
      await w.flush(); // the round goes on the wire while the guest runs
      const bytes = w.offset - before.offset;
      const guestInsns = insnsForBytes(bytes, bw);
      const ran = machine.run(guestInsns).insns;
      status.guestInsns += ran;
      const sync = ram.syncDirty();
      const report: RoundReport = {
        round,
        normalPages: ram.stats.normalPages - before.normal,
        zeroPages: ram.stats.zeroPages - before.zero,
        bytes,
        guestInsns: ran,
        dirtiedPages: sync.dirtied,
        dirtyRatePagesPerSecond: ran > 0 ? sync.dirtied / (ran / VIRTUAL_HZ) : 0,
        pendingPages: sync.pending,
        expectedDowntimeMs: sync.pending * ram.pageSize / bw * 1000,
      };
      status.rounds.push(report);
      status.dirtyRatePagesPerSecond = report.dirtyRatePagesPerSecond;
      status.expectedDowntimeMs = report.expectedDowntimeMs;
      status.bytes = w.offset;
      hooks.onRound?.(report, status);
      if (report.expectedDowntimeMs <= params.downtimeLimitMs) {
        status.converged = true;
        break;
      }
      if (round >= params.maxRounds) {
        status.reason = `precopy did not converge in ${
          round + 1
        } rounds: ${report.pendingPages} pages left, expected downtime ${
          report.expectedDowntimeMs.toFixed(1)
        } ms > limit ${params.downtimeLimitMs} ms`;
        if (params.onNoConvergence === "force") {
          status.forced = true;
          break;
        }
        ram.cancel();
        await out.abort();
        return finish("cancelled");
      }
    }
    // Stop-and-copy: the guest does not run from here on.
    const stopAt = w.offset;
    const tStop = performance.now();
    status.switchoverInstret = machine.cpu.instret;
    await writeCompletion(w, reg, opts);
    await out.finish();
    status.downtimeMs = (w.offset - stopAt) / bw * 1000;
    status.downtimeWallMs = performance.now() - tStop;
    return finish("completed");
  } catch (e) {
    ram.cancel();
    await out.abort().catch(() => {});
    if (!(e instanceof MigrationError)) throw e;
    status.error = e;
    status.reason = e.message;
    status.switchoverInstret = null;
    return finish("failed");
  }
}
