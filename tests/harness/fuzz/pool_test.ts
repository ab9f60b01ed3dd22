import { ok, strictEqual } from "node:assert/strict";
import { FuzzPool } from "../../../harness/fuzz/pool.ts";
import type { WorkerSettings } from "../../../harness/fuzz/protocol.ts";
import { demoBase } from "./_base.ts";

const settings: WorkerSettings = { seed: 5, maxOps: 3, runInsns: 5_000, runBudgetMs: 5_000 };

Deno.test("two workers run every case once and count it", async () => {
  const pool = await FuzzPool.start(await demoBase(), settings, 2, 30_000);
  try {
    const totals = await pool.run(0, 300, 64);
    const sum = Object.values(totals.counts).reduce((a, b) => a + b, 0);
    strictEqual(sum, 300);
    strictEqual(totals.bugs.length, 0);
    ok(totals.busyMs > 0);
    const o = await pool.exact([{ op: "set-version", section: "serial", version: 9 }]);
    strictEqual(o.class, "rejected");
  } finally {
    pool.close();
  }
});

Deno.test("a worker stuck in a case is replaced, the case is a hang, the others still count", async () => {
  // The worker spins forever in case 37. The watchdog the test gives the pool calls a silent
  // worker stuck only there, so no case is cut short however slow the host is, and the hang
  // limit is far beyond any real case (the default test, silence for hangMs, is not host-proof).
  const stalled = { ...settings, stallAt: 37 };
  let done = 0;
  const seen: number[] = [];
  const stuckAt37 = (at: number) => (seen.push(at), at === 37);
  const pool = await FuzzPool.start(
    await demoBase(),
    stalled,
    1,
    3_600_000,
    (n) => (done += n),
    stuckAt37,
  );
  try {
    const totals = await pool.run(0, 80, 50);
    strictEqual(totals.counts.hang, 1);
    strictEqual(Object.values(totals.counts).reduce((a, b) => a + b, 0), 80);
    strictEqual(totals.bugs.length, 1);
    strictEqual(totals.bugs[0].index, 37);
    strictEqual(totals.bugs[0].outcome.phase, "watchdog");
    strictEqual(done, 80);
    ok(seen.includes(37));
  } finally {
    pool.close();
  }
});
