/**
 * How the shell words a live migration: one line per precopy round, `migrate-status` (QEMU's
 * `info migrate` figures plus ours), the progress note, and the line a finished migration ends
 * with. Every figure says what it counts: instructions retired, cycles, pages, bytes, virtual or
 * wall-clock time.
 * @module
 */
import type {
  MigrationStatus,
  PrecopyProgress,
  RoundReport,
} from "../harness/migration/precopy.ts";

/** 1.5 MiB / 12.0 KiB. */
export function kib(bytes: number): string {
  return bytes >= 1 << 20
    ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One line per precopy round. */
export function formatRound(r: RoundReport): string {
  return `round ${r.round}${r.round === 0 ? " (full pass)" : ""}: ${
    r.normalPages + r.zeroPages + r.xbzrlePages
  } pages (${r.normalPages} normal, ${r.zeroPages} zero${
    r.xbzrlePages ? `, ${r.xbzrlePages} xbzrle` : ""
  }), ${kib(r.bytes)}; guest ran ${r.guestInsns} cycles meanwhile${
    r.throttlePercent ? ` (throttled ${r.throttlePercent}%)` : ""
  }, dirtied ${r.dirtiedPages} pages (${
    Math.round(r.dirtyRatePagesPerSecond)
  } pages/s); ${r.pendingPages} pages + ${
    kib(r.deviceBytes)
  } device state pending, expected downtime ${r.expectedDowntimeMs.toFixed(1)} ms`;
}

/** `migrate-status` text: QEMU's `info migrate` figures plus ours. */
export function formatStatus(s: MigrationStatus): string[] {
  const p = s.parameters;
  const last = s.rounds[s.rounds.length - 1];
  const lines = [
    `Migration status: ${s.state}${
      s.state !== "cancelled" ? "" : s.interrupted ? " (interrupted)" : " (gave up)"
    }`,
    `uri: ${s.uri}`,
    `rounds: ${s.rounds.length}, converged: ${
      s.state === "active" || s.state === "setup" ? "not yet" : s.converged ? "yes" : "no"
    }${s.forced ? " (switch-over forced)" : ""}${s.postcopy ? " (switched to postcopy)" : ""}`,
    `transferred: ${s.bytes} bytes, normal: ${s.normalPages} pages, zero: ${s.zeroPages} pages`,
    `total ram: ${s.ramBytes} bytes`,
    `capabilities: ${s.capabilities.length ? s.capabilities.join(", ") : "none"}`,
    `dirty rate: ${Math.round(s.dirtyRatePagesPerSecond)} pages/s (virtual time)`,
    `expected downtime: ${s.expectedDowntimeMs.toFixed(1)} ms (limit ${p.downtimeLimitMs} ms)${
      last ? `: ${last.pendingPages} pages + ${kib(last.deviceBytes)} device state` : ""
    } at ${p.maxBandwidth} bytes/s`,
  ];
  if (s.capabilities.includes("auto-converge")) {
    lines.push(`cpu throttle: ${s.throttlePercent}% (auto-converge)`);
  }
  if (s.state === "pre-switchover") {
    lines.push("paused before the switch-over: migrate-continue pre-switchover completes it");
  }
  if (s.postcopy) {
    const pc = s.postcopy;
    lines.push(
      `postcopy: ${pc.requests} page requests from the destination (${pc.requestedPagesSent} ` +
        `pages sent first), ${pc.pushedPages} pages pushed in the background, ` +
        `${pc.discardedPages} pages discarded at the switch-over, ${pc.bytes} bytes since it`,
    );
  }
  if (s.xbzrle) {
    const x = s.xbzrle;
    lines.push(
      `xbzrle: cache ${x.cacheSize} bytes, ${x.pages} pages in ${x.bytes} bytes, ` +
        `${x.cacheMisses} cache misses, ${x.overflows} overflows, ${x.skipped} unchanged (not sent)`,
    );
  }
  if (s.downtimeMs !== null) {
    lines.push(
      `downtime: ${s.downtimeMs.toFixed(1)} ms at ${p.maxBandwidth} bytes/s (wall ${
        s.downtimeWallMs!.toFixed(1)
      } ms)`,
    );
  }
  lines.push(
    `guest ran: ${s.guestInsns} cycles during the migration (instructions retired plus idle ` +
      "cycles in WFI)" +
      (s.switchoverInstret !== null
        ? `; switched over with ${s.switchoverInstret} instructions retired`
        : ""),
    `total time: ${s.virtualSeconds.toFixed(3)} s at the bandwidth limit, ${
      s.wallSeconds.toFixed(3)
    } s wall`,
  );
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  if (s.reason) lines.push(`reason: ${s.reason}`);
  return lines;
}

/** The note after a migration's progress figures: round, bytes so far, dirty rate. */
export function progressNote(p: PrecopyProgress): string {
  const what = p.phase === "completing" ? "stop-and-copy" : `round ${p.round}`;
  return `pages, ${what}, ${kib(p.bytes)} sent, dirty ${
    Math.round(p.dirtyRatePagesPerSecond)
  } pages/s${p.phase === "running" ? ", guest running" : ""}`;
}

/** The line a completed migration ends with, saying what is true of both sides. */
export function completedLine(s: MigrationStatus): string {
  if (s.postcopy) {
    return `migrate: completed to ${s.uri} in postcopy: ${s.bytes} bytes, ${s.rounds.length} ` +
      `precopy ${s.rounds.length === 1 ? "round" : "rounds"}, downtime ${
        s.downtimeMs!.toFixed(1)
      } ms (until the destination ran), then ${s.postcopy.requests} pages requested and ` +
      `${s.postcopy.pushedPages} pushed; the guest runs at the destination (unless started ` +
      "paused); this copy is stopped in postmigrate (run --force would run a stale copy)";
  }
  return `migrate: completed to ${s.uri}: ${s.bytes} bytes in ${s.rounds.length} ${
    s.rounds.length === 1 ? "round" : "rounds"
  }, downtime ${s.downtimeMs!.toFixed(1)} ms (limit ${s.parameters.downtimeLimitMs} ms)${
    s.forced ? ", switch-over forced without converging" : ""
  }; the guest continues at the destination (running unless it was started paused); this copy ` +
    "is stopped in postmigrate (run --force would run a second copy)";
}

/** The status as one JSON object (`--json`). */
export function statusJson(s: MigrationStatus): string {
  return JSON.stringify({ ...s, error: s.error?.toJSON() });
}
