/**
 * Receiving: from a file, a command's stdout and a TCP connection, into a machine sized from the
 * stream; a cut stream, a failing command, a missing file or no connection at all are typed
 * errors, the source hears the verdict on the return path, and no machine escapes a failed load.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
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
