/**
 * A fuzz worker (a Web Worker): builds the cases of the ranges it is given, runs each on its
 * reusable machine and reports counts and bug candidates; also runs single recipes exactly
 * (a new machine each time) for confirmation and shrinking.
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { CaseMaker } from "./cases.ts";
import { emptyCounts, isBug } from "./classes.ts";
import type { BugCandidate, FromWorker, ToWorker, WorkerSettings } from "./protocol.ts";
import { FuzzTarget } from "./target.ts";

let maker: CaseMaker | undefined;
let fast: FuzzTarget | undefined;
let exact: FuzzTarget | undefined;
let settings: WorkerSettings | undefined;
let heartbeat: Int32Array | undefined;

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

async function runRange(from: number, to: number): Promise<void> {
  const counts = emptyCounts();
  const bugs: BugCandidate[] = [];
  let preParsed = 0;
  const t0 = performance.now();
  // Stack traces are the most expensive part of a rejection; bugs are re-run with them on.
  const limit = (Error as unknown as { stackTraceLimit: number }).stackTraceLimit;
  (Error as unknown as { stackTraceLimit: number }).stackTraceLimit = 0;
  try {
    for (let i = from; i < to; i++) {
      Atomics.store(heartbeat!, 0, i);
      if (i === settings!.stallAt) { for (;;) Atomics.load(heartbeat!, 0); // test hook: a hang
       }
      const c = await maker!.make(settings!.seed, i);
      if (c.preParsed) preParsed++;
      const outcome = await fast!.run(c.input, c.ramPreloaded ? maker!.preload : undefined);
      counts[outcome.class]++;
      if (isBug(outcome.class)) bugs.push({ index: i, ops: c.ops, outcome });
      Atomics.add(heartbeat!, 1, 1);
    }
  } finally {
    (Error as unknown as { stackTraceLimit: number }).stackTraceLimit = limit;
  }
  post({ type: "range-done", from, to, counts, bugs, preParsed, ms: performance.now() - t0 });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  try {
    if (msg.type === "init") {
      settings = msg.settings;
      heartbeat = new Int32Array(msg.heartbeat);
      maker = await CaseMaker.create(msg.base, settings.maxOps, settings.weights as never);
      const opts = {
        runInsns: settings.runInsns,
        runBudgetMs: settings.runBudgetMs,
        via: settings.via,
      };
      fast = await FuzzTarget.create(msg.base, opts);
      exact = await FuzzTarget.create(msg.base, { ...opts, exact: true });
      post({ type: "ready" });
    } else if (msg.type === "range") {
      await runRange(msg.from, msg.to);
    } else {
      Atomics.store(heartbeat!, 0, -1 - msg.id);
      const outcome = await exact!.run(await maker!.build(msg.ops));
      Atomics.add(heartbeat!, 1, 1);
      post({ type: "exact-done", id: msg.id, outcome });
    }
  } catch (err) {
    post({
      type: "failed",
      message: err instanceof Error ? err.stack ?? err.message : String(err),
    });
  }
};
