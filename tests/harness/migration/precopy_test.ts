/**
 * Precopy: convergence over several rounds into a destination identical to the source at the
 * switch-over; non-convergence giving up (the source runs on exactly as if nothing happened) or
 * forcing the switch-over; a transport failing mid-stream; reproducibility; cancelling through
 * an AbortSignal between rounds, while the guest runs and at the stop-and-copy; progress.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { DEFAULT_PARAMETERS, type MigrationParameters } from "../../../harness/migration/params.ts";
import { receiveMigration } from "../../../harness/migration/incoming.ts";
import {
  deviceStateBytes,
  precopy,
  type PrecopyProgress,
  type RoundReport,
} from "../../../harness/migration/precopy.ts";
import { openOutgoing, type Outgoing } from "../../../harness/migration/transport.ts";
import { MigrationError, TransportError } from "../../../migration/errors.ts";
import { fillRandom } from "../../../repl/commands/machine_commands.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { fingerprint, memoryOutgoing, memwriter, type MemwriterConfig } from "./_guest.ts";

/** A guest dirtying 16 pages per ~0.2 ms of virtual time in a 256-page region. */
const SLOW: MemwriterConfig = { regionPages: 256, pagesPerRound: 16, delay: 20000, reportEvery: 4 };
/** The same writing ten times as often. */
const FAST: MemwriterConfig = { ...SLOW, delay: 2000 };

function params(p: Partial<MigrationParameters>): MigrationParameters {
  return { ...DEFAULT_PARAMETERS, ...p };
}

function started(cfg: MemwriterConfig): VirtMachine {
  const m = memwriter(cfg);
  m.run(2_000_000);
  return m;
}

/** A copy of `cfg`'s guest that ran the same instruction budgets, without migrating. */
function reference(cfg: MemwriterConfig, rounds: RoundReport[]): VirtMachine {
  const m = started(cfg);
  for (const r of rounds) m.run(r.guestInsns);
  return m;
}

async function loaded(bytes: Uint8Array): Promise<VirtMachine> {
  const d = new VirtMachine({ ramSize: 16 << 20 });
  await d.load(StreamReader.fromBytes(bytes));
  return d;
}

function withoutConsole(m: VirtMachine) {
  const { console: _, ...rest } = fingerprint(m);
  return rest;
}

/** Milliseconds the device state of `m` takes at `bandwidth` (part of every downtime). */
function deviceMs(m: VirtMachine, bandwidth: number): number {
  return deviceStateBytes(m) / bandwidth * 1000;
}

Deno.test("precopy converges in rounds of dirty pages and the destination is the source at switch-over", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  const seen: number[] = [];
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
    { onRound: (r) => seen.push(r.round) },
  );
  strictEqual(status.state, "completed");
  strictEqual(status.converged, true);
  strictEqual(out.ended, "finished");
  ok(status.rounds.length >= 2, `${status.rounds.length} rounds`);
  deepStrictEqual(seen, status.rounds.map((r) => r.round));
  const [first, ...later] = status.rounds;
  strictEqual(first.normalPages + first.zeroPages, 4096, "the first pass sends every page");
  ok(later.every((r) => r.normalPages + r.zeroPages < 4096), "later rounds only dirty pages");
  ok(first.expectedDowntimeMs > 0.5);
  ok(status.rounds.at(-1)!.expectedDowntimeMs <= 0.5 + deviceMs(src, 256 << 20));
  ok(status.dirtyRatePagesPerSecond > 0);
  strictEqual(status.switchoverInstret, src.cpu.instret);
  strictEqual(status.bytes, out.bytes().length);
  ok(status.downtimeMs! > 0 && status.downtimeMs! < 1 + 1024 * 1024 * 1000 / (256 << 20));

  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
  // memwriter checks every page it rewrites: a page lost by the migration would be reported.
  dst.run(5_000_000);
  ok(!dst.consoleText.includes("CORRUPTION"), dst.consoleText);
  strictEqual(dst.exitCode, undefined);
  ok(/memwriter: round \d+/.test(dst.consoleText), "the guest carries on");

  const again = memoryOutgoing();
  await precopy(
    started(SLOW),
    again,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
  );
  deepStrictEqual(again.bytes(), out.bytes(), "the same migration gives the same stream");
});

Deno.test("precopy that cannot converge gives up: the source runs on as if it never migrated", async () => {
  const src = started(FAST);
  const out = memoryOutgoing();
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 32 << 20, downtimeLimitMs: 1, maxRounds: 3 }),
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.converged, false);
  strictEqual(status.forced, false);
  strictEqual(status.rounds.length, 4, "the first pass and 3 dirty rounds");
  ok(
    /did not converge in 4 rounds: \d+ pages left, expected downtime [\d.]+ ms > limit 1 ms/
      .test(status.reason!),
    status.reason!,
  );
  strictEqual(out.ended, "aborted");
  strictEqual(status.switchoverInstret, null);
  strictEqual(src.ramSection.saving, false);
  ok(src.ram.dirty.some((w) => w !== 0), "unsent pages are dirty again");

  const ref = reference(FAST, status.rounds);
  deepStrictEqual(fingerprint(src), fingerprint(ref));
  src.run(3_000_000);
  ref.run(3_000_000);
  deepStrictEqual(fingerprint(src), fingerprint(ref));
  ok(!src.consoleText.includes("CORRUPTION"));
});

Deno.test("precopy that cannot converge switches over anyway when forced", async () => {
  const src = started(FAST);
  const out = memoryOutgoing();
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 32 << 20, downtimeLimitMs: 1, maxRounds: 2, onNoConvergence: "force" }),
  );
  strictEqual(status.state, "completed");
  strictEqual(status.converged, false);
  strictEqual(status.forced, true);
  strictEqual(status.rounds.length, 3);
  ok(status.downtimeMs! > 1, "the downtime exceeds the limit, as predicted");
  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
  dst.run(3_000_000);
  ok(!dst.consoleText.includes("CORRUPTION"));
});

Deno.test("a transport failing mid-stream fails the migration and the source keeps running", async () => {
  const src = started(SLOW);
  let written = 0;
  const broken: Outgoing & { ended: string } = {
    ended: "open",
    sink: {
      write(chunk) {
        written += chunk.length;
        if (written > 600_000) return Promise.reject(new Error("Connection reset by peer"));
        return Promise.resolve();
      },
    },
    finish: () => Promise.resolve(),
    abort() {
      broken.ended = "aborted";
      return Promise.resolve();
    },
  };
  // The first pass (about 1 MB) is flushed before the guest runs: the write fails there.
  const status = await precopy(src, broken, "mem:", params({ maxBandwidth: 256 << 20 }));
  strictEqual(status.state, "failed");
  ok(status.error instanceof TransportError, `${status.error}`);
  ok(/Connection reset by peer/.test(status.reason!));
  strictEqual(broken.ended, "aborted");
  strictEqual(src.ramSection.saving, false);
  strictEqual(status.rounds.length, 0, "it failed in the first pass");
  const ref = reference(SLOW, status.rounds);
  deepStrictEqual(fingerprint(src), fingerprint(ref));

  // The source is intact: a second attempt migrates it completely.
  const out = memoryOutgoing();
  const retry = await precopy(src, out, "mem:", params({ maxBandwidth: 256 << 20 }));
  strictEqual(retry.state, "completed");
  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
  dst.run(3_000_000);
  ok(!dst.consoleText.includes("CORRUPTION"));
});

/** A fresh 16 MiB machine's fingerprint: what a destination that kept nothing looks like. */
function untouched(m: VirtMachine) {
  return { ram: m.ram.u8.every((v) => v === 0), instret: m.cpu.instret, now: m.nowNs() };
}

Deno.test("a cancel between rounds drops the transport and the source runs on as if it never migrated", async () => {
  const src = started(FAST);
  const out = memoryOutgoing();
  const ac = new AbortController();
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 32 << 20, downtimeLimitMs: 1, maxRounds: 10 }),
    { signal: ac.signal, onRound: (r) => r.round === 1 && ac.abort() },
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.interrupted, true);
  strictEqual(status.reason, "cancelled in round 1");
  strictEqual(status.rounds.length, 2, "the round in which it was cancelled is reported");
  strictEqual(status.switchoverInstret, null);
  strictEqual(out.ended, "aborted");
  strictEqual(src.ramSection.saving, false);
  ok(src.ram.dirty.some((w) => w !== 0), "unsent pages are dirty again");
  const ref = reference(FAST, status.rounds);
  deepStrictEqual(fingerprint(src), fingerprint(ref));

  // What the destination got is a cut stream: it is rejected and changes nothing.
  const dst = new VirtMachine({ ramSize: 16 << 20 });
  const before = untouched(dst);
  await rejects(dst.load(StreamReader.fromBytes(out.bytes())), MigrationError);
  deepStrictEqual(untouched(dst), before);

  // The source is intact: migrating it again completes.
  const again = memoryOutgoing();
  const retry = await precopy(src, again, "mem:", params({ maxBandwidth: 256 << 20 }));
  strictEqual(retry.state, "completed");
  strictEqual(retry.interrupted, false);
  deepStrictEqual(withoutConsole(await loaded(again.bytes())), withoutConsole(src));
});

Deno.test("a cancel while the guest runs stops it at a slice boundary, where a plain run stops", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  const ac = new AbortController();
  let slices = 0;
  const status = await precopy(src, out, "mem:", params({ maxBandwidth: 32 << 20 }), {
    signal: ac.signal,
    sliceInsns: 100_000,
    onProgress: (p) => {
      if (p.phase === "running" && ++slices === 5) ac.abort();
    },
  });
  strictEqual(status.state, "cancelled");
  strictEqual(status.interrupted, true);
  strictEqual(status.rounds.length, 0, "cancelled inside the first round");
  strictEqual(status.reason, "cancelled in round 0");
  // One "running" report before the first slice, then one per slice: 4 slices ran.
  strictEqual(status.guestInsns, 400_000);
  strictEqual(out.ended, "aborted");
  const ref = started(SLOW);
  ref.run(status.guestInsns);
  deepStrictEqual(fingerprint(src), fingerprint(ref));
  strictEqual(src.ramSection.saving, false);
});

Deno.test("a cancel at the stop-and-copy sends no device state and leaves the source as it was", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  const ac = new AbortController();
  const phases: string[] = [];
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
    {
      signal: ac.signal,
      onProgress: (p) => {
        phases.push(p.phase);
        if (p.phase === "completing") ac.abort();
      },
    },
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.interrupted, true);
  ok(/stop-and-copy/.test(status.reason!), status.reason!);
  ok(status.rounds.length >= 1);
  strictEqual(phases.at(-1), "completing");
  strictEqual(out.ended, "aborted");
  strictEqual(status.switchoverInstret, null);
  strictEqual(src.ramSection.saving, false);
  deepStrictEqual(fingerprint(src), fingerprint(reference(SLOW, status.rounds)));
  strictEqual(status.bytes, out.bytes().length, "nothing written after the last round");
  await rejects(
    new VirtMachine({ ramSize: 16 << 20 }).load(StreamReader.fromBytes(out.bytes())),
    MigrationError,
  );
});

Deno.test("a signal aborted after the last byte changes nothing: the migration completes", async () => {
  const src = started(SLOW);
  const ac = new AbortController();
  const inner = memoryOutgoing();
  const out: Outgoing = {
    sink: inner.sink,
    finish() {
      ac.abort(); // Ctrl-C while waiting for the destination's verdict: too late to cancel
      return inner.finish();
    },
    abort: () => inner.abort(),
  };
  const status = await precopy(src, out, "mem:", params({ maxBandwidth: 256 << 20 }), {
    signal: ac.signal,
  });
  strictEqual(status.state, "completed");
  strictEqual(status.interrupted, false);
  strictEqual(inner.ended, "finished");
});

Deno.test("progress reports every round's pages as they go out, then the stop-and-copy", async () => {
  const src = started(SLOW);
  const seen: PrecopyProgress[] = [];
  const status = await precopy(
    src,
    memoryOutgoing(),
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
    { onProgress: (p) => seen.push(p) },
  );
  strictEqual(status.state, "completed");
  const first = seen.filter((p) => p.round === 0 && p.phase === "sending");
  strictEqual(first[0].pagesSent, 0);
  strictEqual(first[0].pagesTotal, 4096);
  strictEqual(first.at(-1)!.pagesSent, 4096, "the whole first pass went out");
  const last = seen.at(-1)!;
  strictEqual(last.phase, "completing");
  strictEqual(last.round, status.rounds.length);
  strictEqual(last.pagesSent, last.pagesTotal);
  strictEqual(last.bytes, status.bytes);
  ok(seen.some((p) => p.phase === "running" && p.dirtyRatePagesPerSecond === 0));
  ok(seen.some((p) => p.round > 0 && p.dirtyRatePagesPerSecond > 0));
});

Deno.test("a cancel over tcp: the destination sees a cut stream and keeps no machine", async () => {
  const src = started(FAST);
  const made: VirtMachine[] = [];
  let bound!: (port: number) => void;
  const port = new Promise<number>((r) => bound = r);
  const receiving = receiveMigration(
    { kind: "tcp", host: "127.0.0.1", port: 0 },
    (ram) => {
      const m = new VirtMachine({ ramSize: ram });
      made.push(m);
      return m;
    },
    { timeoutMs: 20_000, onListening: (uri) => bound(Number(/:(\d+)$/.exec(uri)![1])) },
  );
  const ac = new AbortController();
  const out = await openOutgoing(
    { kind: "tcp", host: "127.0.0.1", port: await port },
    { maxBandwidth: 64 << 20, signal: ac.signal },
  );
  const status = await precopy(
    src,
    out,
    "tcp:",
    params({ maxBandwidth: 64 << 20, downtimeLimitMs: 1, maxRounds: 10 }),
    { signal: ac.signal, onRound: (r) => r.round === 1 && ac.abort() },
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.interrupted, true);
  await rejects(receiving, (e) => e instanceof MigrationError && e.kind === "corrupt");
  strictEqual(made.length, 1);
  ok(made[0].ram.u8.every((v) => v === 0), "the machine made for the stream was rolled back");
  deepStrictEqual(fingerprint(src), fingerprint(reference(FAST, status.rounds)));
});

Deno.test("a cancel while pages go out stops at the next buffer; unsent pages are dirty again", async () => {
  const src = started(SLOW);
  fillRandom(src.ram.u32.subarray(1 << 20), 3); // the upper 12 MiB: 3072 pages of data
  src.ram.markAllDirty();
  const out = memoryOutgoing();
  const ac = new AbortController();
  const sent: number[] = [];
  const status = await precopy(src, out, "mem:", params({ maxBandwidth: 256 << 20 }), {
    signal: ac.signal,
    onProgress: (p) => {
      if (p.phase !== "sending") return;
      sent.push(p.pagesSent);
      if (p.pagesSent > 0) ac.abort(); // the first 4 MiB buffer is on its way
    },
  });
  strictEqual(status.state, "cancelled");
  strictEqual(status.reason, "cancelled in round 0");
  strictEqual(out.ended, "aborted");
  ok(sent.at(-1)! > 0 && sent.at(-1)! < 4096, `${sent}`);
  ok(out.bytes().length < 5 << 20, `${out.bytes().length} bytes went out: one 4 MiB buffer`);
  strictEqual(status.guestInsns, 0, "the guest never ran");
  // Pages not yet encoded are dirty again, so nothing is lost for a later migration.
  const encoded = status.normalPages + status.zeroPages;
  ok(encoded < 4096, `${encoded} pages encoded`);
  strictEqual(src.ram.dirty.reduce((n, w) => n + popcount(w), 0), 4096 - encoded);
});

function popcount(w: number): number {
  let n = 0;
  for (let v = w >>> 0; v; v &= v - 1) n++;
  return n;
}

Deno.test("the expected downtime counts the device state: a low bandwidth does not claim convergence", async () => {
  const src = started(SLOW);
  const bw = 100 * 1024;
  const devMs = deviceMs(src, bw);
  ok(deviceStateBytes(src) > 512 * 1024, `device state ${deviceStateBytes(src)} bytes`);
  const status = await precopy(
    src,
    memoryOutgoing(),
    "mem:",
    params({ maxBandwidth: bw, downtimeLimitMs: 300, maxRounds: 1 }),
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.converged, false);
  const last = status.rounds.at(-1)!;
  ok(last.expectedDowntimeMs >= devMs, `${last.expectedDowntimeMs} < ${devMs}`);
  ok(/expected downtime/.test(status.reason!), status.reason!);
});

Deno.test("a forced switch-over past the downtime limit is a warning", async () => {
  const src = started(FAST);
  const status = await precopy(
    src,
    memoryOutgoing(),
    "mem:",
    params({ maxBandwidth: 32 << 20, downtimeLimitMs: 1, maxRounds: 0, onNoConvergence: "force" }),
  );
  strictEqual(status.state, "completed");
  strictEqual(status.forced, true);
  ok(status.downtimeMs! > 1);
  strictEqual(status.warnings.length, 1);
  ok(/exceeded the limit of 1 ms/.test(status.warnings[0]), status.warnings[0]);
});

Deno.test("parameters read at every round apply to a migration in flight", async () => {
  const src = started(SLOW);
  let limit = 0;
  const status = await precopy(
    src,
    memoryOutgoing(),
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0, maxRounds: 30 }),
    {
      currentParameters: () => params({ maxBandwidth: 256 << 20, downtimeLimitMs: limit }),
      onRound: (r) => {
        if (r.round === 1) limit = 1000; // migrate-set-parameters --downtime-limit 1000
      },
    },
  );
  strictEqual(status.state, "completed");
  strictEqual(status.rounds.length, 3, "converged at the round after the change");
  strictEqual(status.parameters.downtimeLimitMs, 1000);
});

Deno.test("precopy with xbzrle resends dirty pages as deltas: fewer bytes, the same destination", async () => {
  // A small region rewritten over and over: the pages come back round after round.
  const HOT: MemwriterConfig = { regionPages: 32, pagesPerRound: 16, delay: 2000, reportEvery: 64 };
  // A limit nothing meets: five dirty rounds, then the switch-over is forced.
  const limit = (_: VirtMachine) => 0;
  const plainSrc = started(HOT);
  const plain = memoryOutgoing();
  const p = await precopy(
    plainSrc,
    plain,
    "mem:",
    params({
      maxBandwidth: 256 << 20,
      downtimeLimitMs: limit(plainSrc),
      maxRounds: 5,
      onNoConvergence: "force",
    }),
  );
  const src = started(HOT);
  const out = memoryOutgoing();
  const status = await precopy(
    src,
    out,
    "mem:",
    params({
      maxBandwidth: 256 << 20,
      downtimeLimitMs: limit(src),
      maxRounds: 5,
      onNoConvergence: "force",
    }),
    {
      capabilities: {
        xbzrle: true,
        autoConverge: false,
        pauseBeforeSwitchover: false,
        postcopyRam: false,
      },
    },
  );
  strictEqual(status.state, "completed");
  deepStrictEqual(status.capabilities, ["xbzrle"]);
  strictEqual(status.rounds.length, 6);
  strictEqual(status.rounds[0].xbzrlePages, 0, "the first pass sends whole pages");
  strictEqual(status.rounds[1].xbzrlePages, 0, "round 1 only fills the cache (misses)");
  ok(status.xbzrle!.pages > 0 && status.xbzrle!.cacheMisses > 0, JSON.stringify(status.xbzrle));
  strictEqual(status.xbzrle!.cacheSize, 64 << 20);
  ok(status.rounds.slice(2).every((r) => r.xbzrlePages > 0));
  // memwriter rewrites 12 bytes of a page: a delta is a few dozen bytes instead of 4 KiB.
  ok(status.xbzrle!.bytes / status.xbzrle!.pages < 64, JSON.stringify(status.xbzrle));
  const laterPlain = p.rounds.slice(2).reduce((s, r) => s + r.bytes, 0);
  const laterXb = status.rounds.slice(2).reduce((s, r) => s + r.bytes, 0);
  ok(laterXb * 4 < laterPlain, `${laterXb} vs ${laterPlain}`);
  strictEqual(src.ramSection.xbzrleCacheSize, null, "later saves send plain pages");

  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
  strictEqual(dst.ramSection.stats.xbzrlePages, status.xbzrle!.pages);
  dst.run(5_000_000);
  ok(!dst.consoleText.includes("CORRUPTION"), dst.consoleText);
});

/**
 * A guest dirtying about 1.5 times what 64 MiB/s carries over a 1024-page region: plain precopy
 * never gets under a 40 ms limit; throttled to 40-60% it does.
 */
const HEAVY: MemwriterConfig = {
  regionPages: 1024,
  pagesPerRound: 16,
  delay: 12000,
  reportEvery: 64,
};
const HEAVY_LINK = { maxBandwidth: 64 << 20, downtimeLimitMs: 40, maxRounds: 14 };

/** HEAVY with its whole region written once. */
function heavy(): VirtMachine {
  const m = memwriter(HEAVY);
  m.run(10_000_000);
  return m;
}

const CAPS_OFF = {
  xbzrle: false,
  autoConverge: false,
  pauseBeforeSwitchover: false,
  postcopyRam: false,
};

Deno.test("auto-converge throttles a guest that outpaces the link until precopy converges", async () => {
  const p = params(HEAVY_LINK);
  const plain = await precopy(heavy(), memoryOutgoing(), "mem:", p);
  strictEqual(plain.state, "cancelled", "plain precopy does not converge at this rate");
  const src = heavy();
  const out = memoryOutgoing();
  const status = await precopy(src, out, "mem:", p, {
    capabilities: { ...CAPS_OFF, autoConverge: true },
  });
  strictEqual(status.state, "completed", String(status.reason));
  strictEqual(status.converged, true);
  deepStrictEqual(status.capabilities, ["auto-converge"]);
  const throttles = status.rounds.map((r) => r.throttlePercent);
  strictEqual(throttles[0], 0, "no throttle in the first pass");
  // QEMU's steps: 20% first, then +10% each time the rate is high twice more.
  const seen = [...new Set(throttles.filter((t) => t > 0))];
  strictEqual(seen[0], 20, JSON.stringify(throttles));
  ok(seen.every((t, i) => t === 20 + 10 * i), JSON.stringify(throttles));
  ok(status.throttlePercent >= 20);
  // A throttled round retires that share fewer instructions than the time it took.
  for (const r of status.rounds.filter((x) => x.throttlePercent > 0)) {
    const full = Math.ceil(r.bytes / (64 << 20) * 1e8);
    ok(r.guestInsns <= Math.floor(full * (100 - r.throttlePercent) / 100), `round ${r.round}`);
  }
  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
  dst.run(3_000_000);
  ok(!dst.consoleText.includes("CORRUPTION"));
});

Deno.test("auto-converge respects cpu-throttle-initial/increment and max-cpu-throttle", async () => {
  const p = params({
    ...HEAVY_LINK,
    downtimeLimitMs: 0,
    maxRounds: 9,
    cpuThrottleInitial: 30,
    cpuThrottleIncrement: 25,
    maxCpuThrottle: 60,
  });
  const status = await precopy(heavy(), memoryOutgoing(), "mem:", p, {
    capabilities: { ...CAPS_OFF, autoConverge: true },
  });
  strictEqual(status.state, "cancelled", "a limit of 0 ms is never met");
  const seen = [...new Set(status.rounds.map((r) => r.throttlePercent).filter((t) => t > 0))];
  deepStrictEqual(seen, [30, 55, 60]);
});

Deno.test("pause-before-switchover waits in pre-switchover with nothing sent, then completes", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  let pausedAt = -1;
  let instretThen = -1;
  let state = "";
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
    {
      capabilities: { ...CAPS_OFF, pauseBeforeSwitchover: true },
      preSwitchover: async (s) => {
        state = s.state;
        pausedAt = out.bytes().length;
        instretThen = src.cpu.instret;
        await new Promise((r) => setTimeout(r, 20)); // the user takes a moment
        strictEqual(out.bytes().length, pausedAt, "nothing is sent while paused");
      },
    },
  );
  strictEqual(state, "pre-switchover");
  strictEqual(status.state, "completed");
  strictEqual(src.cpu.instret, instretThen, "the guest stays stopped while paused");
  strictEqual(status.switchoverInstret, instretThen);
  ok(out.bytes().length > pausedAt);
  const dst = await loaded(out.bytes());
  deepStrictEqual(withoutConsole(dst), withoutConsole(src));
});

Deno.test("pause-before-switchover: a cancel in pre-switchover drops the transport, the source runs on", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  const controller = new AbortController();
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
    {
      signal: controller.signal,
      capabilities: { ...CAPS_OFF, pauseBeforeSwitchover: true },
      preSwitchover: () => {
        controller.abort();
        return new Promise<void>(() => {}); // migrate-continue never comes
      },
    },
  );
  strictEqual(status.state, "cancelled");
  strictEqual(status.interrupted, true);
  ok(/cancelled in pre-switchover/.test(status.reason!), String(status.reason));
  strictEqual(out.ended, "aborted");
  strictEqual(src.ramSection.saving, false);
  ok(src.ram.dirty.some((w) => w !== 0), "unsent pages are dirty again");
  const ref = reference(SLOW, status.rounds);
  deepStrictEqual(fingerprint(src), fingerprint(ref));
});

Deno.test("a link cut in each phase (throttled or xbzrle rounds, pre-switchover, stop-and-copy) fails cleanly", async () => {
  for (const phase of ["rounds", "xbzrle-rounds", "pre-switchover", "stop-and-copy"] as const) {
    const rounds = phase === "rounds" || phase === "xbzrle-rounds";
    const src = rounds ? heavy() : started(SLOW);
    let written = 0;
    let paused = false;
    let cutAfter = Infinity;
    const broken: Outgoing & { ended: string } = {
      ended: "open",
      sink: {
        write(chunk) {
          written += chunk.length;
          if (written > cutAfter) return Promise.reject(new Error("Broken pipe"));
          return Promise.resolve();
        },
      },
      finish: () => Promise.resolve(),
      abort() {
        broken.ended = "aborted";
        return Promise.resolve();
      },
    };
    if (phase === "rounds") cutAfter = 14_000_000; // round 3 (of about 4.2 MB), throttled
    if (phase === "xbzrle-rounds") cutAfter = 6_000_000; // round 1: cache misses, sent whole
    const status = await precopy(
      src,
      broken,
      "mem:",
      rounds
        ? params({ ...HEAVY_LINK, downtimeLimitMs: 0 })
        : params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 + deviceMs(src, 256 << 20) }),
      {
        capabilities: {
          ...CAPS_OFF,
          autoConverge: phase === "rounds",
          xbzrle: phase === "xbzrle-rounds",
          pauseBeforeSwitchover: !rounds,
        },
        preSwitchover: () => {
          paused = true;
          // The destination goes away while the source waits: the next write finds out.
          cutAfter = phase === "pre-switchover" ? written : written + 100_000;
          return Promise.resolve();
        },
      },
    );
    strictEqual(status.state, "failed", phase);
    ok(status.error instanceof TransportError, `${phase}: ${status.error}`);
    strictEqual(broken.ended, "aborted", phase);
    strictEqual(src.ramSection.saving, false, phase);
    strictEqual(status.switchoverInstret, null, phase);
    if (phase === "rounds") ok(status.rounds.some((r) => r.throttlePercent > 0), phase);
    else if (phase === "xbzrle-rounds") ok(status.xbzrle!.cacheMisses > 0, phase);
    else ok(paused, phase);
    // A later save of the same machine sends plain pages again (the cache went with the save).
    strictEqual(src.ramSection.xbzrleCacheSize, null, phase);
    // The source is intact and runs on.
    src.run(2_000_000);
    ok(!src.consoleText.includes("CORRUPTION"), phase);
  }
});

Deno.test("xbzrle-cache-size changed mid-flight rebuilds the cache at the next round (QEMU's resize)", async () => {
  const src = memwriter({ regionPages: 32, pagesPerRound: 16, delay: 2000, reportEvery: 64 });
  src.run(2_000_000);
  const base: MigrationParameters = {
    ...DEFAULT_PARAMETERS,
    downtimeLimitMs: 0,
    maxRounds: 4,
    onNoConvergence: "force",
    xbzrleCacheSize: 1 << 20,
  };
  let rounds = 0;
  const out = memoryOutgoing();
  const status = await precopy(src, out, "mem:", base, {
    capabilities: {
      xbzrle: true,
      autoConverge: false,
      pauseBeforeSwitchover: false,
      postcopyRam: false,
    },
    onRound: () => rounds++,
    currentParameters: () => rounds >= 2 ? { ...base, xbzrleCacheSize: 2 << 20 } : base,
  });
  strictEqual(status.state, "completed");
  strictEqual(status.xbzrle?.cacheSize, 2 << 20);
  strictEqual(status.parameters.xbzrleCacheSize, 2 << 20);
  ok(status.xbzrle!.cacheMisses > 0);
  // The stream still loads to the source's state.
  const dest = new VirtMachine({ ramSize: 16 << 20 });
  await dest.load(StreamReader.fromBytes(out.bytes()));
  deepStrictEqual(fingerprint(dest).ram, fingerprint(src).ram);
});
