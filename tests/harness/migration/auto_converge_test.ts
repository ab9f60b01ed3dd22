import { strictEqual } from "node:assert/strict";
import { AutoConverge } from "../../../harness/migration/auto_converge.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";

const p = DEFAULT_PARAMETERS;

Deno.test("the throttle starts on the second high period, then steps up to max-cpu-throttle", () => {
  const t = new AutoConverge();
  strictEqual(t.afterSync(600, 1000, p), false, "first high period: counted only");
  strictEqual(t.percent, 0);
  strictEqual(t.afterSync(500, 1000, p), false, "exactly half is not over the threshold");
  strictEqual(t.afterSync(600, 1000, p), true);
  strictEqual(t.percent, 20);
  t.afterSync(600, 1000, p);
  t.afterSync(600, 1000, p);
  strictEqual(t.percent, 30, "the counter starts again after each change");
  const capped = new AutoConverge();
  const q = { ...p, cpuThrottleInitial: 90, cpuThrottleIncrement: 20, maxCpuThrottle: 95 };
  for (let i = 0; i < 6; i++) capped.afterSync(2000, 1000, q);
  strictEqual(capped.percent, 95);
});

Deno.test("scale() takes the throttled share of the instructions away", () => {
  const t = new AutoConverge();
  strictEqual(t.scale(1000), 1000);
  t.percent = 70;
  strictEqual(t.scale(1000), 300);
  strictEqual(t.scale(1001), 300);
});
