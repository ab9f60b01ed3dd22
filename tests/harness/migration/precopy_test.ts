/**
 * Precopy: convergence over several rounds into a destination identical to the source at the
 * switch-over; non-convergence giving up (the source runs on exactly as if nothing happened) or
 * forcing the switch-over; a transport failing mid-stream; reproducibility.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { DEFAULT_PARAMETERS, type MigrationParameters } from "../../../harness/migration/params.ts";
import { precopy, type RoundReport } from "../../../harness/migration/precopy.ts";
import type { Outgoing } from "../../../harness/migration/transport.ts";
import { TransportError } from "../../../migration/errors.ts";
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

Deno.test("precopy converges in rounds of dirty pages and the destination is the source at switch-over", async () => {
  const src = started(SLOW);
  const out = memoryOutgoing();
  const seen: number[] = [];
  const status = await precopy(
    src,
    out,
    "mem:",
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 }),
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
  ok(status.rounds.at(-1)!.expectedDowntimeMs <= 0.5);
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
    params({ maxBandwidth: 256 << 20, downtimeLimitMs: 0.5 }),
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
