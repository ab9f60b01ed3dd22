/**
 * Outgoing transports: file: appears only when complete, exec: feeds a command and reports its
 * failure, tcp: waits for the destination's verdict; abort leaves nothing behind.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { MigrationCancelledError } from "../../../harness/migration/cancel.ts";
import { encodeShut } from "../../../harness/migration/return_path.ts";
import { openOutgoing, withTimeout } from "../../../harness/migration/transport.ts";
import { TransportError } from "../../../migration/errors.ts";

const payload = new Uint8Array(3 << 20).map((_, i) => i * 7);

async function send(uri: Parameters<typeof openOutgoing>[0], bytes = payload) {
  const out = await openOutgoing(uri, { maxBandwidth: 1e12 });
  for (let i = 0; i < bytes.length; i += 1 << 20) {
    await out.sink.write(bytes.subarray(i, i + (1 << 20)));
  }
  return out;
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("file: writes a temporary file and renames it into place only on finish", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await send({ kind: "file", path: `${dir}/vm.qemu` });
    strictEqual((await listing(dir)).includes("vm.qemu"), false, "not there before finish");
    await out.finish();
    deepStrictEqual(await listing(dir), ["vm.qemu"]);
    deepStrictEqual(await Deno.readFile(`${dir}/vm.qemu`), payload);
    const dropped = await send({ kind: "file", path: `${dir}/other.qemu` });
    await dropped.abort();
    deepStrictEqual(await listing(dir), ["vm.qemu"], "abort leaves no file behind");
    await rejects(
      openOutgoing({ kind: "file", path: `${dir}/missing/vm.qemu` }),
      (e) => e instanceof TransportError && /Cannot write ".*missing\/vm.qemu"/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec: streams into a command's stdin and reports a failing command with its stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await send({ kind: "exec", command: `cat > '${dir}/x'` });
    await out.finish();
    deepStrictEqual(await Deno.readFile(`${dir}/x`), payload);
    const bad = await send({ kind: "exec", command: "cat > /dev/null; echo nope >&2; exit 3" });
    await rejects(
      bad.finish(),
      (e) => e instanceof TransportError && /exited with status 3: nope/.test(e.message),
    );
    await rejects(
      send({ kind: "exec", command: "echo disk full >&2; exit 28" }),
      (e) => e instanceof TransportError && /exited with status 28: disk full/.test(e.message),
      "a command that stops reading is reported with its status",
    );
    const stopped = await send(
      { kind: "exec", command: `sleep 30; cat > '${dir}/y'` },
      payload.subarray(0, 10),
    );
    await stopped.abort(); // kills the command
    deepStrictEqual(await listing(dir), ["x"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A one-connection destination that reads everything, then answers with `verdict`. */
function destination(verdict: number | null) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got = (async () => {
    const conn = await listener.accept();
    listener.close();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    if (verdict !== null) await conn.write(encodeShut(verdict));
    conn.close();
    const total = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      total.set(c, at);
      at += c.length;
    }
    return total;
  })();
  return { port: listener.addr.port, got };
}

Deno.test("tcp: sends the stream, closes its side and waits for the destination's verdict", async () => {
  for (
    const [verdict, error] of [
      [0, null],
      [1, /rejected the stream/],
      [null, /closed the connection without confirming the load/],
    ] as const
  ) {
    const d = destination(verdict);
    const out = await send({ kind: "tcp", host: "127.0.0.1", port: d.port });
    if (!error) await out.finish();
    else await rejects(out.finish(), (e) => e instanceof TransportError && error.test(e.message));
    deepStrictEqual(await d.got, payload, `verdict ${verdict}`);
  }
});

Deno.test("tcp: a refused connection is a TransportError naming the address", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  await rejects(
    openOutgoing({ kind: "tcp", host: "127.0.0.1", port }),
    (e) => e instanceof TransportError && e.message.includes(`tcp:127.0.0.1:${port}`),
  );
});

Deno.test("withTimeout() rejects with a TransportError when the promise does not settle", async () => {
  strictEqual(await withTimeout(Promise.resolve(5), 1000, "x"), 5);
  const never = new Promise<never>(() => {});
  await rejects(
    withTimeout(never, 1, "Waiting for Godot"),
    (e) =>
      e instanceof TransportError && /Waiting for Godot: no answer within 0.001 s/.test(e.message),
  );
});

Deno.test("withTimeout() gives up at once on cancel and clears its timer", async () => {
  const ac = new AbortController();
  const waiting = withTimeout(new Promise<never>(() => {}), 60_000, "Waiting", ac.signal);
  ac.abort(); // a timer left behind fails the test (op sanitizer)
  await rejects(waiting, MigrationCancelledError);
});

Deno.test("file: a paced transport cancelled in its pacing wait leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ac = new AbortController();
    const out = await openOutgoing({ kind: "file", path: `${dir}/vm.qemu` }, {
      maxBandwidth: 1000,
      signal: ac.signal,
    });
    await out.sink.write(new Uint8Array(60_000)); // the next write is due in a minute
    const waiting = out.sink.write(new Uint8Array(10));
    ac.abort();
    await rejects(waiting, MigrationCancelledError);
    await out.abort();
    deepStrictEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
