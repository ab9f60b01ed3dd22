/**
 * Live migration by precopy, as QEMU does it: the block list, a first pass over every page while
 * the guest keeps running, then rounds of the pages it dirtied meanwhile, until what is left fits
 * the downtime limit at the bandwidth limit; then the guest stops and the rest (last dirty pages
 * and every device) is copied. When the rounds run out first it says so and either gives up (the
 * source keeps running, nothing lost) or forces the switch-over, as the parameters say.
 *
 * The expected downtime counts what the stop-and-copy really sends: the pending pages and every
 * device's state (an NVMe-style device alone is about 1 MiB), so a low bandwidth does not claim
 * convergence it cannot keep; a switch-over that still takes longer than the limit (forced, or
 * the guest's device state grew) is recorded as a warning. Parameters can change while it runs
 * (`currentParameters`): each round reads them afresh.
 *
 * Time is the guest's virtual time: while a round's bytes are on the wire (bytes / bandwidth
 * seconds), the guest runs for that many seconds at 100 MHz, so a migration is reproducible.
 * Pacing the real transport is the transport's business ({@link ThrottledSink}).
 *
 * A migration can be cancelled (Ctrl-C) through an AbortSignal until its last byte is written:
 * the guest runs in slices and pages go out buffer by buffer, with turns for the event loop in
 * between, so the signal gets through; then the transport is dropped (the destination sees a cut
 * stream) and the source keeps running, exactly as if it had never migrated.
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
import { type ByteSink, StreamWriter } from "../../migration/stream/writer.ts";
import { VmStateSaver } from "../../migration/vmstate/save.ts";
import { Checkpoint, MigrationCancelledError, raceCancel, throwIfCancelled } from "./cancel.ts";
import { checkParameters, insnsForBytes, type MigrationParameters, VIRTUAL_HZ } from "./params.ts";
import { type MigrationCapabilities, NO_MIGRATION_CAPABILITIES } from "./capabilities.ts";
import {
  initialStatus,
  type MigrationState,
  type MigrationStatus,
  type PrecopyProgress,
  type RoundReport,
} from "./status.ts";

export {
  initialStatus,
  type MigrationState,
  type MigrationStatus,
  type PrecopyProgress,
  type RoundReport,
  type XbzrleStatus,
} from "./status.ts";
import type { Outgoing } from "./transport.ts";
import { AutoConverge } from "./auto_converge.ts";
import {
  advisePayload,
  pingPayload,
  writeCommand,
} from "../../migration/sections/postcopy_commands.ts";
import { postcopyPhase } from "./postcopy_source.ts";
import { MigCommand } from "../../migration/sections/constants.ts";

/** Progress callbacks and cancellation. */
export interface PrecopyOptions {
  /** After each round's dirty sync, with the decision still to come. */
  onRound?(round: RoundReport, status: MigrationStatus): void;
  /** As pages go out (every flushed buffer) and while the guest runs (every slice). */
  onProgress?(progress: PrecopyProgress): void;
  /**
   * Cancels the migration until its last byte is written: the transport is aborted, the source
   * keeps running, and the status is "cancelled" with `interrupted` set.
   */
  signal?: AbortSignal;
  /** Guest instructions per slice between chances for the signal (default 1,000,000). */
  sliceInsns?: number;
  /** The parameters in force now (read at every round: changes apply mid-flight). */
  currentParameters?: () => MigrationParameters;
  /** Called once with the live status object (migrate-status during a detached migration). */
  onStart?(status: MigrationStatus): void;
  /** QEMU migration capabilities (default: all off); fixed for the whole migration. */
  capabilities?: MigrationCapabilities;
  /**
   * pause-before-switchover: called in `pre-switchover` (converged, guest stopped, nothing
   * sent); the stop-and-copy starts when it resolves (QEMU's migrate-continue). Required with
   * that capability. A cancel meanwhile cancels the migration; the source runs on.
   */
  preSwitchover?(status: MigrationStatus): Promise<void>;
  /**
   * postcopy-ram: polled after each round; true switches to postcopy (QEMU's
   * migrate-start-postcopy). Needs a transport with a return path (tcp).
   */
  postcopyRequested?(): boolean;
}

/** Section framing around a device's payload: type, id, idstr length, instance, version, footer. */
const SECTION_FRAMING_BYTES = 1 + 4 + 1 + 4 + 4 + 5;

/**
 * Bytes the device sections of a stop-and-copy take now: each device's state saved aside, plus
 * its section framing (the RAM section's pages are counted separately).
 */
export function deviceStateBytes(machine: Machine): number {
  const w = new StreamWriter(undefined, 64 * 1024);
  let framing = 0;
  for (const e of machine.registry.ordered()) {
    if (!e.vmsd || e.iterative) continue;
    const state = e.state!();
    if (e.vmsd.needed && !e.vmsd.needed(state)) continue;
    new VmStateSaver(w).save(e.vmsd, state);
    framing += SECTION_FRAMING_BYTES + e.idstr.length;
  }
  return w.offset + framing;
}

/** Default guest slice: 1M instructions (a few ms of interpretation). */
export const DEFAULT_SLICE_INSNS = 1_000_000;

/**
 * The transport's sink as precopy sees it: a buffer is never started once cancelled. While
 * `racing` (the rounds), a write in flight is given up at once on cancel (the transport is dropped
 * next, so a stalled destination cannot hold Ctrl-C up), and after each write the checkpoint gives
 * the event loop a turn. In the stop-and-copy a write that started runs to its end and counts: the
 * last one completes the stream.
 */
class GuardedSink implements ByteSink {
  racing = true;

  constructor(
    private readonly inner: ByteSink,
    private readonly gate: Checkpoint,
    private readonly signal: AbortSignal | undefined,
    private readonly onWrite: () => void,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    throwIfCancelled(this.signal);
    this.onWrite();
    // Started at once, so the transport works while the writer fills its next buffer.
    const p = this.inner.write(chunk);
    if (!this.racing) return await p;
    await raceCancel(p, this.signal);
    await this.gate.pass();
  }
}

/**
 * Run `machine` for `insns` instructions in slices, passing `gate` before each; stops early where
 * one run would (exit, idle), so the guest ends exactly where a single run of `insns` ends.
 */
async function runSliced(
  machine: Machine,
  insns: number,
  slice: number,
  gate: Checkpoint,
  onSlice: (insns: number) => void,
): Promise<number> {
  let ran = 0;
  while (ran < insns) {
    await gate.pass();
    const r = machine.run(Math.min(slice, insns - ran));
    ran += r.insns;
    onSlice(r.insns);
    if (r.stop !== "budget") break;
  }
  return ran;
}

/**
 * Migrate `machine` into `out` by precopy. Resolves to the final status: completed, cancelled
 * (gave up, or `options.signal` aborted: the source keeps running, nothing sent counts) or failed
 * (with a typed error; the source keeps running). Only errors that are bugs are thrown.
 */
export async function precopy(
  machine: Machine,
  out: Outgoing,
  uri: string,
  parameters: MigrationParameters,
  options: PrecopyOptions = {},
): Promise<MigrationStatus> {
  let params = checkParameters({ ...parameters });
  const caps = options.capabilities ?? NO_MIGRATION_CAPABILITIES;
  if (caps.pauseBeforeSwitchover && !options.preSwitchover) {
    throw new TypeError("pause-before-switchover needs a preSwitchover callback");
  }
  const status = initialStatus(uri, params, caps);
  const throttle = caps.autoConverge ? new AutoConverge() : null;
  options.onStart?.(status);
  const t0 = performance.now();
  const ram = machine.ramSection;
  const reg = machine.registry;
  const opts: SaveOptions = { machine: machine.machineType, ...machine.streamDefaults?.().save };
  const signal = options.signal;
  const gate = new Checkpoint(signal);
  const slice = Math.max(1, options.sliceInsns ?? DEFAULT_SLICE_INSNS);
  const progress: PrecopyProgress = {
    round: 0,
    phase: "sending",
    pagesSent: 0,
    pagesTotal: 0,
    bytes: 0,
    dirtyRatePagesPerSecond: 0,
  };
  let roundStart = 0;
  const pagesSoFar = () => ram.stats.normalPages + ram.stats.zeroPages;
  const tell = options.onProgress
    ? () => {
      if (progress.phase !== "running") progress.pagesSent = pagesSoFar() - roundStart;
      progress.bytes = w.offset;
      options.onProgress!({ ...progress });
    }
    : () => {};
  const sink = new GuardedSink(out.sink, gate, signal, tell);
  const w = new StreamWriter(sink);
  let bw = params.maxBandwidth;
  status.ramBytes = machine.ram.size;
  /** True once the whole stream is written: from then on a cancel no longer applies. */
  let complete = false;
  const finish = (state: MigrationState) => {
    status.state = state;
    status.bytes = w.offset;
    status.normalPages = ram.stats.normalPages;
    status.zeroPages = ram.stats.zeroPages;
    noteXbzrle();
    status.virtualSeconds = w.offset / bw;
    status.wallSeconds = (performance.now() - t0) / 1000;
    return status;
  };
  const xbzrleCache = caps.xbzrle ? params.xbzrleCacheSize : null;
  let xbzrleCacheNow = xbzrleCache;
  const noteXbzrle = () => {
    if (xbzrleCacheNow === null) return;
    const st = ram.stats;
    status.xbzrle = {
      cacheSize: xbzrleCacheNow,
      pages: st.xbzrlePages,
      bytes: st.xbzrleBytes,
      cacheMisses: st.xbzrleCacheMisses,
      overflows: st.xbzrleOverflows,
      skipped: st.xbzrleSkipped,
    };
  };
  if (caps.postcopyRam && !out.returnPath) {
    status.state = "failed";
    status.reason = `postcopy-ram needs a return path, which only tcp: has (not ${uri})`;
    status.error = new MigrationError("environment", status.reason);
    await out.abort();
    return status;
  }
  ram.xbzrleCacheSize = xbzrleCache;
  machine.liveMigrationSource = true; // the guest runs meanwhile (QEMU's globalstate says so)
  let postcopy = false;
  try {
    throwIfCancelled(signal);
    // A QEMU destination confirms the load on the return path only when asked to open it
    // (postcopy opens it below, with its own commands).
    writeHeader(w, {
      ...opts,
      openReturnPath: !!out.returnPath && machine.qemuLayout && !caps.postcopyRam,
    });
    if (caps.postcopyRam) {
      // QEMU's migration_thread: open the return path, ping, then advise postcopy.
      writeCommand(w, MigCommand.OPEN_RETURN_PATH);
      writeCommand(w, MigCommand.PING, pingPayload(1));
      writeCommand(w, MigCommand.POSTCOPY_ADVISE, advisePayload(ram.pageSize));
    }
    await writeSetup(w, reg, opts);
    status.state = "active";
    for (let round = 0;; round++) {
      await gate.pass();
      if (options.currentParameters) {
        params = checkParameters({ ...options.currentParameters() });
        status.parameters = { ...params };
        bw = params.maxBandwidth;
        // QEMU's xbzrle_cache_resize: a new size rebuilds the cache, its pages dropped.
        if (xbzrleCache !== null && params.xbzrleCacheSize !== ram.xbzrleCacheBytes) {
          ram.resizeXbzrleCache(params.xbzrleCacheSize);
          if (status.xbzrle) status.xbzrle.cacheSize = params.xbzrleCacheSize;
          xbzrleCacheNow = params.xbzrleCacheSize;
        }
      }
      const before = {
        offset: w.offset,
        normal: ram.stats.normalPages,
        zero: ram.stats.zeroPages,
        xbzrle: ram.stats.xbzrlePages,
      };
      roundStart = pagesSoFar();
      Object.assign(progress, { round, phase: "sending", pagesSent: 0 });
      progress.pagesTotal = ram.pendingPages;
      tell();
      await writeIteration(w, reg, opts);
      await w.flush(); // the round goes on the wire while the guest runs
      const bytes = w.offset - before.offset;
      const roundThrottle = throttle?.percent ?? 0;
      const guestInsns = throttle
        ? throttle.scale(insnsForBytes(bytes, bw))
        : insnsForBytes(bytes, bw);
      progress.pagesSent = pagesSoFar() - roundStart;
      progress.phase = "running";
      tell();
      const ran = await runSliced(machine, guestInsns, slice, gate, (n) => {
        status.guestInsns += n; // counted per slice: a cancel mid-round knows where the guest is
        tell();
      });
      const sync = ram.syncDirty();
      const deviceBytes = deviceStateBytes(machine);
      const report: RoundReport = {
        round,
        normalPages: ram.stats.normalPages - before.normal,
        zeroPages: ram.stats.zeroPages - before.zero,
        xbzrlePages: ram.stats.xbzrlePages - before.xbzrle,
        bytes,
        guestInsns: ran,
        dirtiedPages: sync.dirtied,
        throttlePercent: roundThrottle,
        dirtyRatePagesPerSecond: ran > 0 ? sync.dirtied / (ran / VIRTUAL_HZ) : 0,
        pendingPages: sync.pending,
        deviceBytes,
        expectedDowntimeMs: (sync.pending * ram.pageSize + deviceBytes) / bw * 1000,
      };
      status.rounds.push(report);
      if (throttle) {
        throttle.afterSync(sync.dirtied * ram.pageSize, bytes, params);
        status.throttlePercent = throttle.percent;
      }
      status.dirtyRatePagesPerSecond = report.dirtyRatePagesPerSecond;
      progress.dirtyRatePagesPerSecond = report.dirtyRatePagesPerSecond;
      status.expectedDowntimeMs = report.expectedDowntimeMs;
      status.bytes = w.offset;
      status.normalPages = ram.stats.normalPages;
      status.zeroPages = ram.stats.zeroPages;
      noteXbzrle();
      options.onRound?.(report, status);
      throwIfCancelled(signal); // a cancel during the round wins over its decision
      if (report.expectedDowntimeMs <= params.downtimeLimitMs) {
        status.converged = true;
        break;
      }
      if (
        caps.postcopyRam &&
        (options.postcopyRequested?.() ||
          (params.postcopyAfterRounds > 0 && round + 1 >= params.postcopyAfterRounds))
      ) {
        postcopy = true;
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
    if (postcopy) {
      sink.racing = false;
      complete = true; // from the switch-over on, a cancel cannot give the guest back
      const tStop = performance.now();
      await postcopyPhase(machine, w, out, opts, status, bw);
      status.downtimeWallMs = performance.now() - tStop;
      status.bytes = w.offset;
      status.normalPages = ram.stats.normalPages;
      status.zeroPages = ram.stats.zeroPages;
      status.virtualSeconds = w.offset / bw;
      status.wallSeconds = (performance.now() - t0) / 1000;
      return status;
    }
    if (caps.pauseBeforeSwitchover) {
      status.state = "pre-switchover";
      await raceCancel(options.preSwitchover!(status), signal);
      throwIfCancelled(signal);
      status.state = "active";
    }
    const stopAt = w.offset;
    const tStop = performance.now();
    status.switchoverInstret = machine.cpu.instret;
    sink.racing = false;
    roundStart = pagesSoFar();
    Object.assign(progress, {
      round: status.rounds.length,
      phase: "completing",
      pagesSent: 0,
      pagesTotal: ram.pendingPages,
    });
    tell();
    await gate.pass(); // the last chance before the guest's final state goes out
    await writeCompletion(w, reg, opts);
    complete = true;
    tell();
    await out.finish();
    status.downtimeMs = (w.offset - stopAt) / bw * 1000;
    status.downtimeWallMs = performance.now() - tStop;
    if (status.downtimeMs > params.downtimeLimitMs) {
      status.warnings.push(
        `downtime ${status.downtimeMs.toFixed(1)} ms exceeded the limit of ` +
          `${params.downtimeLimitMs} ms${status.forced ? " (switch-over forced)" : ""}`,
      );
    }
    return finish("completed");
  } catch (e) {
    ram.cancel();
    await out.abort().catch(() => {});
    status.switchoverInstret = null;
    if (!complete && (e instanceof MigrationCancelledError || signal?.aborted)) {
      status.interrupted = true;
      status.reason = status.state === "pre-switchover"
        ? "cancelled in pre-switchover, before the stop-and-copy"
        : progress.phase === "completing"
        ? "cancelled in the stop-and-copy, before the stream was complete"
        : `cancelled in round ${progress.round}`;
      return finish("cancelled");
    }
    if (!(e instanceof MigrationError)) throw e;
    status.error = e;
    status.reason = e.message;
    return finish("failed");
  } finally {
    machine.liveMigrationSource = false;
    ram.xbzrleCacheSize = null; // later saves of this machine send plain pages
  }
}
