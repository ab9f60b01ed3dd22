/** Pacing to the bandwidth limit, on a fake clock; a cancel during a pacing wait. */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { MigrationCancelledError } from "../../../harness/migration/cancel.ts";
import { type Clock, realClock, ThrottledSink } from "../../../harness/migration/sinks.ts";
import { MemorySink } from "../../../migration/stream/io.ts";

function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep(ms: number) {
      c.sleeps.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("ThrottledSink waits until the bytes already sent had their time on the wire", async () => {
  const clock = fakeClock();
  const inner = new MemorySink();
  const s = new ThrottledSink(inner, 1000, clock);
  await s.write(new Uint8Array(500).fill(1));
  await s.write(new Uint8Array(500).fill(2)); // due at 500 ms
  clock.t += 2000; // a slow consumer: no wait needed afterwards
  await s.write(new Uint8Array(1000).fill(3));
  await s.write(new Uint8Array(10).fill(4)); // due at 2000 ms after the start: already past
  await s.write(new Uint8Array(10).fill(5)); // due at 2010 ms: now is 2500, no wait
  deepStrictEqual(clock.sleeps, [500]);
  strictEqual(s.waitedMs, 500);
  const all = inner.bytes();
  strictEqual(all.length, 2020);
  deepStrictEqual([all[0], all[500], all[1000], all[2000], all[2010]], [1, 2, 3, 4, 5]);
});

Deno.test("ThrottledSink gives up a pacing wait on cancel and sends nothing of that chunk", async () => {
  const inner = new MemorySink();
  const ac = new AbortController();
  const s = new ThrottledSink(inner, 1000, realClock, ac.signal);
  await s.write(new Uint8Array(60_000)); // the next write is due in a minute
  const waiting = s.write(new Uint8Array(10).fill(9));
  ac.abort();
  await rejects(waiting, MigrationCancelledError);
  strictEqual(inner.bytes().length, 60_000);
  await rejects(s.write(new Uint8Array(1)), MigrationCancelledError);
  strictEqual(inner.bytes().length, 60_000);
});
