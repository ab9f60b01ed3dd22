/**
 * Receiving: from a file, a command's stdout and a TCP connection, into a machine sized from the
 * stream; a cut stream, a failing command, a missing file or no connection at all are typed
 * errors, the source hears the verdict on the return path, and no machine escapes a failed load;
 * a cancel (waiting or mid-stream) closes everything and keeps nothing; progress counts bytes.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { MigrationCancelledError } from "../../../harness/migration/cancel.ts";
import { receiveMigration } from "../../../harness/migration/incoming.ts";
import { readShut } from "../../../harness/migration/return_path.ts";
import { MigrationError, StreamTruncatedError, TransportError } from "../../../migration/errors.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { fingerprint, memwriter } from "./_guest.ts";

async function sourceStream(): Promise<{ m: VirtMachine; bytes: Uint8Array }> {
  const m = memwriter({ regionPages: 64 });
  m.run(1_000_000);
  const w = new StreamWriter();
  await m.save(w);
  return { m, bytes: w.take() };
}

function withoutConsole(m: VirtMachine) {
  const { console: _, ...rest } = fingerprint(m);
  return rest;
}

/** Makes machines of the announced size and remembers them. */
function factory() {
  const made: VirtMachine[] = [];
  const sizes: (number | undefined)[] = [];
  return {
    made,
    sizes,
    make: (ram: number | undefined) => {
      sizes.push(ram);
      const m = new VirtMachine({ ramSize: ram });
      made.push(m);
      return m;
    },
  };
}

Deno.test("file: and exec: streams load into a machine of the size they announce", async () => {
  const { m, bytes } = await sourceStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/vm.qemu`, bytes);
    for (
      const uri of [
        { kind: "file", path: `${dir}/vm.qemu` },
        { kind: "exec", command: `cat '${dir}/vm.qemu'` },
      ] as const
    ) {
      const f = factory();
      const got = await receiveMigration(uri, f.make);
      deepStrictEqual(f.sizes, [16 << 20]);
      strictEqual(got.machine, f.made[0]);
      strictEqual(got.ramBytes, 16 << 20);
      strictEqual(got.report.bytes, bytes.length);
      deepStrictEqual(withoutConsole(got.machine), withoutConsole(m), uri.kind);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file: loads into a machine prepared beforehand; one of another size is left as it was", async () => {
  const { m, bytes } = await sourceStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/vm.qemu`, bytes);
    const prepared = new VirtMachine({ ramSize: 16 << 20 });
    prepared.ram.prefault();
    const got = await receiveMigration({ kind: "file", path: `${dir}/vm.qemu` }, prepared);
    strictEqual(got.machine, prepared);
    deepStrictEqual(withoutConsole(got.machine), withoutConsole(m));

    const small = new VirtMachine({ ramSize: 8 << 20 });
    small.ram.prefault();
    const before = withoutConsole(small);
    await rejects(
      receiveMigration({ kind: "file", path: `${dir}/vm.qemu` }, small),
      (e) => e instanceof MigrationError && /RAM size in the stream/.test(e.message),
    );
    deepStrictEqual(withoutConsole(small), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a cut file, a missing file and a failing command are typed errors", async () => {
  const { bytes } = await sourceStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/cut.qemu`, bytes.subarray(0, bytes.length >> 1));
    await rejects(
      receiveMigration({ kind: "file", path: `${dir}/cut.qemu` }, factory().make),
      (e) => e instanceof StreamTruncatedError && e.offset !== undefined,
    );
    await rejects(
      receiveMigration({ kind: "file", path: `${dir}/none.qemu` }, factory().make),
      (e) => e instanceof TransportError && /Cannot open ".*none.qemu"/.test(e.message),
    );
    await rejects(
      receiveMigration({ kind: "exec", command: `cat '${dir}/none.qemu'` }, factory().make),
      (e) =>
        e instanceof TransportError && /exited with status 1: cat: .*none.qemu/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Start receiving on an ephemeral port; resolves the port once the listener is bound. */
function receiveOnTcp(make: (ram: number | undefined) => VirtMachine, timeoutMs = 20_000) {
  let bound!: (port: number) => void;
  const port = new Promise<number>((r) => bound = r);
  const receiving = receiveMigration({ kind: "tcp", host: "127.0.0.1", port: 0 }, make, {
    timeoutMs,
    onListening: (uri) => bound(Number(/:(\d+)$/.exec(uri)![1])),
  });
  return { port, receiving };
}

/** Connect to `port`, send `bytes`, close our side, and read the verdict. */
async function sendTo(port: number, bytes: Uint8Array, closeEarly = false) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(bytes);
  if (closeEarly) {
    conn.close(); // a dropped connection: the destination sees the stream end mid-way
    return "dropped";
  }
  await conn.closeWrite();
  const verdict = await readShut(conn, "test");
  conn.close();
  return verdict;
}

Deno.test("tcp: waits for one connection on an ephemeral port, loads, and answers loaded", async () => {
  const { m, bytes } = await sourceStream();
  const f = factory();
  const { port: bound, receiving } = receiveOnTcp(f.make);
  const port = await bound;
  const [got, verdict] = await Promise.all([receiving, sendTo(port, bytes)]);
  strictEqual(verdict, "loaded");
  strictEqual(got.uri, `tcp:127.0.0.1:${port}`);
  deepStrictEqual(withoutConsole(got.machine), withoutConsole(m));
});

Deno.test("tcp: a stream cut mid-way is rejected, answered as rejected, and no machine is kept", async () => {
  const { bytes } = await sourceStream();
  for (const closeEarly of [false, true]) {
    const f = factory();
    const { port, receiving } = receiveOnTcp(f.make);
    const sent = sendTo(await port, bytes.subarray(0, 300_000), closeEarly);
    await rejects(receiving, (e) => e instanceof MigrationError && e.kind === "corrupt");
    strictEqual(await sent, closeEarly ? "dropped" : "rejected");
    // The machine made for the stream has nothing loaded: its RAM was rolled back to zeros.
    strictEqual(f.made.length, 1);
    ok(f.made[0].ram.u8.every((v) => v === 0));
  }
});

Deno.test("tcp: no connection within the timeout is a TransportError", async () => {
  await rejects(
    receiveMigration({ kind: "tcp", host: "127.0.0.1", port: 0 }, factory().make, {
      timeoutMs: 50,
    }),
    (e) =>
      e instanceof TransportError &&
      /Waiting for a connection on tcp:127.0.0.1:\d+/.test(e.message),
  );
});

Deno.test("tcp: a cancel while waiting for a connection closes the listener and makes nothing", async () => {
  const f = factory();
  const ac = new AbortController();
  let bound!: (port: number) => void;
  const port = new Promise<number>((r) => bound = r);
  const receiving = receiveMigration({ kind: "tcp", host: "127.0.0.1", port: 0 }, f.make, {
    signal: ac.signal,
    onListening: (uri) => bound(Number(/:(\d+)$/.exec(uri)![1])),
  });
  const p = await port;
  ac.abort();
  await rejects(receiving, MigrationCancelledError);
  strictEqual(f.made.length, 0);
  // The port is free again: the listener was closed.
  const again = Deno.listen({ hostname: "127.0.0.1", port: p });
  again.close();
  // Aborted before it starts: nothing is opened at all.
  await rejects(
    receiveMigration({ kind: "tcp", host: "127.0.0.1", port: p }, f.make, { signal: ac.signal }),
    MigrationCancelledError,
  );
});

Deno.test("exec: a cancel mid-stream stops the command, rolls back and keeps no machine", async () => {
  const { bytes } = await sourceStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/vm.qemu`, bytes);
    const f = factory();
    const ac = new AbortController();
    const seen: [number, number | undefined][] = [];
    // Half the stream, then a command that would go on for a minute.
    const half = bytes.length >> 1;
    const command = `head -c ${half} '${dir}/vm.qemu'; exec sleep 60`;
    const t0 = performance.now();
    await rejects(
      receiveMigration({ kind: "exec", command }, f.make, {
        signal: ac.signal,
        onProgress: (n, total) => {
          seen.push([n, total]);
          if (n >= half) ac.abort();
        },
      }),
      MigrationCancelledError,
    );
    ok(performance.now() - t0 < 30_000, "the command was stopped, not waited for");
    strictEqual(seen.at(-1)![0], half);
    strictEqual(seen.at(-1)![1], 16 << 20, "the total is the RAM size the stream announced");
    strictEqual(f.made.length, 1);
    ok(f.made[0].ram.u8.every((v) => v === 0), "the half-loaded RAM was rolled back");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file: progress counts the bytes read against the file's size", async () => {
  const { bytes } = await sourceStream();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/vm.qemu`, bytes);
    const seen: [number, number | undefined][] = [];
    await receiveMigration({ kind: "file", path: `${dir}/vm.qemu` }, factory().make, {
      onProgress: (n, total) => seen.push([n, total]),
    });
    ok(seen.every(([, total]) => total === bytes.length));
    strictEqual(seen.at(-1)![0], bytes.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Processes of group `pgid` that are still alive (zombies awaiting init are done). */
function liveInGroup(pgid: number): string[] {
  const out = new Deno.Command("ps", { args: ["-e", "-o", "pgid=,stat=,comm="] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim().split(/\s+/))
    .filter(([g, stat]) => Number(g) === pgid && stat !== undefined && !stat.startsWith("Z"))
    .map((p) => p.join(" "));
}

Deno.test("exec: a command given up on (idle timeout) is ended with what it started", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidFile = `${dir}/pid`;
    await rejects(
      receiveMigration(
        { kind: "exec", command: `echo $$ > '${pidFile}'; sleep 30; echo never` },
        factory().make,
        { timeoutMs: 300 },
      ),
      (e) => e instanceof TransportError,
    );
    const pgid = Number((await Deno.readTextFile(pidFile)).trim());
    ok(pgid > 1);
    deepStrictEqual(liveInGroup(pgid), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
