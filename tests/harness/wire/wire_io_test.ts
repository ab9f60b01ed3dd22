import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { TransportError } from "../../../migration/errors.ts";
import { encodeShut } from "../../../harness/migration/return_path.ts";
import type { Clock } from "../../../harness/migration/sinks.ts";
import {
  awaitVerdict,
  bytesInput,
  connectRetrying,
  connInput,
  connOutput,
  formatVerdict,
  type WireConn,
} from "../../../harness/wire/wire_io.ts";

/** A connection in memory: reads come from `incoming`, writes are recorded (at most `max` each). */
function fakeConn(incoming: (Uint8Array | Error | "hang")[], max = Infinity) {
  const writes: Uint8Array[] = [];
  const conn: WireConn & { writes: Uint8Array[] } = {
    writes,
    read(into) {
      const next = incoming.shift();
      if (next === undefined) return Promise.resolve(null);
      if (next === "hang") return new Promise(() => {});
      if (next instanceof Error) return Promise.reject(next);
      into.set(next);
      return Promise.resolve(next.length);
    },
    write(b) {
      const n = Math.min(b.length, max);
      writes.push(b.slice(0, n));
      return Promise.resolve(n);
    },
  };
  return conn;
}

Deno.test("bytesInput() hands out pieces, then null", async () => {
  const input = bytesInput(Uint8Array.of(1, 2, 3, 4, 5), 2);
  const got = [];
  for (let p = await input.read(); p; p = await input.read()) got.push([...p]);
  deepStrictEqual(got, [[1, 2], [3, 4], [5]]);
});

Deno.test("connInput() copies what it reads; failures and silence are TransportErrors", async () => {
  const ok1 = connInput(fakeConn([Uint8Array.of(7, 8)]), "src");
  deepStrictEqual(await ok1.read(), Uint8Array.of(7, 8));
  strictEqual(await ok1.read(), null);
  await rejects(
    connInput(fakeConn([new Error("reset")]), "src").read(),
    (e) => e instanceof TransportError && /Reading from src failed: reset/.test(e.message),
  );
  await rejects(
    connInput(fakeConn(["hang"]), "src", 5).read(),
    (e) =>
      e instanceof TransportError && /Reading from src: no answer within 0.005 s/.test(e.message),
  );
});

Deno.test("connOutput() writes everything, in pieces of at most `chunk`, paced to the rate", async () => {
  const conn = fakeConn([], 3); // the peer takes at most 3 bytes per write call
  let now = 0;
  const slept: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
  const out = connOutput(conn, "dst", { chunk: 4, rate: 1000, clock });
  await out.write(Uint8Array.from({ length: 10 }, (_, i) => i));
  deepStrictEqual(conn.writes.map((w) => [...w]), [[0, 1, 2], [3], [4, 5, 6], [7], [8, 9]]);
  deepStrictEqual(slept, [4, 4], "4 bytes at 1000 B/s take 4 ms each");
  const broken: WireConn = {
    read: () => Promise.resolve(null),
    write: () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe")),
  };
  await rejects(
    connOutput(broken, "dst").write(Uint8Array.of(1)),
    (e) =>
      e instanceof TransportError && /dst stopped taking the stream: Broken pipe/.test(e.message),
  );
});

Deno.test("awaitVerdict() reads the SHUT message or says why there is none", async () => {
  deepStrictEqual(await awaitVerdict(fakeConn([encodeShut(0)]), "dst", 1000), {
    outcome: "loaded",
  });
  deepStrictEqual(await awaitVerdict(fakeConn([encodeShut(1)]), "dst", 1000), {
    outcome: "rejected",
  });
  const none = await awaitVerdict(fakeConn([]), "dst", 1000);
  strictEqual(none.outcome, "none");
  strictEqual(
    formatVerdict(none, "dst"),
    "no verdict from dst: dst closed the connection without confirming the load",
  );
  const silent = await awaitVerdict(fakeConn(["hang"]), "dst", 5);
  ok(silent.outcome === "none" && /no answer within/.test(silent.reason));
  strictEqual(formatVerdict({ outcome: "loaded" }, "dst"), "dst loaded the stream");
});

Deno.test("connectRetrying() connects to a listener and gives up on a closed port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const accepted = listener.accept();
  const conn = await connectRetrying("127.0.0.1", port, "here", 2000);
  (await accepted).close();
  conn.close();
  listener.close();
  await rejects(
    connectRetrying("127.0.0.1", port, `tcp:127.0.0.1:${port}`, 100),
    (e) =>
      e instanceof TransportError &&
      /(Cannot connect|Connecting) to tcp:127\.0\.0\.1:\d+/.test(e.message),
  );
});
