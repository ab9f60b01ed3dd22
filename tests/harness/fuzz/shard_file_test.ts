import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { runCampaign } from "../../../harness/fuzz/campaign.ts";
import { FuzzMergeError, mergeShards } from "../../../harness/fuzz/shard_file.ts";
import { demoBase } from "./_base.ts";

const base = await demoBase();

Deno.test("shards 1/3 + 2/3 + 3/3 merged count as the single-machine campaign; bad sets are refused", async () => {
  const opts = { iterations: 300, seed: 5, workers: 0 };
  const whole = await runCampaign(base, opts);
  const dirs: string[] = [];
  for (let k = 1; k <= 3; k++) {
    const outDir = await Deno.makeTempDir();
    dirs.push(outDir);
    await runCampaign(base, { ...opts, shard: { k, n: 3 }, outDir });
  }
  const merged = await mergeShards(dirs);
  deepStrictEqual(merged.counts, whole.counts);
  strictEqual(merged.bugs, whole.bugs);
  strictEqual(merged.findings.length, whole.reports.length);
  await rejects(mergeShards(dirs.slice(0, 2)), FuzzMergeError);
  await rejects(mergeShards([dirs[0], dirs[0], dirs[1], dirs[2]]), FuzzMergeError);
  const other = await Deno.makeTempDir();
  await runCampaign(base, { ...opts, seed: 6, shard: { k: 3, n: 3 }, outDir: other });
  await rejects(mergeShards([dirs[0], dirs[1], other]), /seed 6/);
  for (const d of [...dirs, other]) await Deno.remove(d, { recursive: true });
});

Deno.test("an aborted campaign stops and reports the cases run so far as cancelled", async () => {
  const ac = new AbortController();
  const r = await runCampaign(base, {
    iterations: 5000,
    seed: 1,
    workers: 0,
    onProgress: (done) => done >= 256 && ac.abort(),
    signal: ac.signal,
  });
  strictEqual(r.cancelled, true);
  strictEqual(r.casesRun, 256);
});
