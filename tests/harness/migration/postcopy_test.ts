/**
 * postcopy-ram over a real TCP socket (both sides in this process): the destination runs the
 * guest from MIG_CMD_POSTCOPY_RUN on, faults on pages not received yet and pulls them over the
 * return path, and ends as the source's continuation, instruction for instruction; a link cut
 * before the switch-over, during postcopy and at the end is reported on both sides.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import {
  type MigrationCapabilities,
  NO_MIGRATION_CAPABILITIES,
} from "../../../harness/migration/capabilities.ts";
import { type IncomingResult, receiveMigration } from "../../../harness/migration/incoming.ts";
import { DEFAULT_PARAMETERS, type MigrationParameters } from "../../../harness/migration/params.ts";
import { type MigrationStatus, precopy } from "../../../harness/migration/precopy.ts";
import { openOutgoing } from "../../../harness/migration/transport.ts";
import { TransportError } from "../../../migration/errors.ts";
import { fingerprint, memwriter } from "./_guest.ts";
import { MemorySink } from "../../../migration/stream/io.ts";

const POSTCOPY: MigrationCapabilities = { ...NO_MIGRATION_CAPABILITIES, postcopyRam: true };

/** A link that precopy alone cannot finish: the guest dirties faster than the limit allows. */
const PARAMS: MigrationParameters = {
  ...DEFAULT_PARAMETERS,
  maxBandwidth: 64 << 20,
  downtimeLimitMs: 1,
  maxRounds: 10,
  postcopyAfterRounds: 2,
};

/** The memwriter guest, warmed up (its region written once). */
function source(): VirtMachine {
  const m = memwriter({ pagesPerRound: 16, delay: 2000, regionPages: 256, reportEvery: 64 });
  m.run(5_000_000);
  return m;
}

/** Cycles the destination runs before its state is compared with the source's continuation. */
const CONTINUE = 3_000_000;

function withoutConsole(m: VirtMachine) {
  const { console: _, ...rest } = fingerprint(m);
  return rest;
}

/**
 * A TCP relay between source and destination that can cut the link: `cut()` closes both
 * sockets at once; `holdShut` forwards everything the source sends but nothing back after the
 * source's last byte (the destination's SHUT is lost).
 */
function relay(target: number, opts: { holdShut?: boolean } = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  let cutNow = () => {};
  const done = (async () => {
    const a = await listener.accept();
    listener.close();
    const b = await Deno.connect({ hostname: "127.0.0.1", port: target });
    conns.push(a, b);
    let sourceDone = false;
    cutNow = () => {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    };
    const pump = async (from: Deno.Conn, to: Deno.Conn, forward: () => boolean) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await from.read(buf);
          if (n === null) break;
          if (!forward()) continue;
          let off = 0;
          while (off < n) off += await to.write(buf.subarray(off, n));
        }
      } catch { /* cut */ }
    };
    await Promise.all([
      pump(a, b, () => true).then(async () => {
        sourceDone = true;
        // Half-close, never close: a close with the destination's unread messages still queued
        // here resets the connection and can drop the stream's last bytes before it reads them.
        await b.closeWrite().catch(() => {});
      }),
      pump(b, a, () => !(opts.holdShut && sourceDone)),
    ]);
    cutNow();
  })();
  return { port, cut: () => cutNow(), done };
}

interface Run {
  /** Every byte the source sent. */
  sent: Uint8Array;
  status: MigrationStatus;
  incoming: IncomingResult<VirtMachine> | Error;
  src: VirtMachine;
}

/** One postcopy migration of `src` to a destination in this process, maybe through a relay. */
async function migrate(
  src: VirtMachine,
  opts: {
    params?: MigrationParameters;
    cutAt?: "postcopy";
    holdShut?: boolean;
    refuseAt?: "precopy";
  } = {},
): Promise<Run> {
  let relayCut = () => {};
  let listening!: (port: number) => void;
  const port = new Promise<number>((r) => listening = r);
  const incoming = receiveMigration(
    { kind: "tcp", host: "127.0.0.1", port: 0 },
    (ram) => new VirtMachine({ ramSize: ram }),
    {
      timeoutMs: 20_000,
      onListening: (u) => listening(Number(u.split(":").pop())),
      onPostcopy: () => {
        if (opts.cutAt === "postcopy") relayCut();
      },
      onProgress: (bytes) => {
        if (opts.refuseAt === "precopy" && bytes > 1 << 20) relayCut();
      },
      postcopy: { maxCycles: CONTINUE },
    },
  ).catch((e: Error) => e);
  const destPort = await port;
  const needsRelay = opts.cutAt !== undefined || opts.holdShut || opts.refuseAt;
  const r = needsRelay ? relay(destPort, { holdShut: opts.holdShut }) : undefined;
  if (r) relayCut = r.cut;
  const out = await openOutgoing({ kind: "tcp", host: "127.0.0.1", port: r?.port ?? destPort });
  const sent = new MemorySink();
  const tee = {
    ...out,
    sink: { write: (c: Uint8Array) => sent.write(c.slice()).then(() => out.sink.write(c)) },
  };
  const status = await precopy(src, tee, "tcp:test", opts.params ?? PARAMS, {
    capabilities: POSTCOPY,
  });
  const got = await incoming;
  await r?.done;
  return { sent: sent.bytes(), status, incoming: got, src };
}

Deno.test("postcopy: the destination runs at once, pulls missing pages and continues the source exactly", async () => {
  const { status, incoming, src } = await migrate(source());
  strictEqual(status.state, "completed", String(status.reason));
  ok(status.postcopy, "it switched to postcopy");
  strictEqual(status.rounds.length, PARAMS.postcopyAfterRounds);
  ok(status.postcopy.discardedPages > 0, "pages dirtied since they were sent were discarded");
  ok(!(incoming instanceof Error), String(incoming));
  const dest = incoming.machine;
  const pc = incoming.postcopy!;
  ok(pc.absentAtStart > 0);
  ok(pc.faults >= 1, "the guest touched a page it did not have yet");
  strictEqual(pc.requests, status.postcopy.requests, "every request reached the source");
  strictEqual(dest.ram.absentPages, 0);
  // The destination ran up to CONTINUE cycles on its own; both now run to the same point.
  const ran = pc.cycles;
  ok(ran <= CONTINUE);
  dest.run(CONTINUE - ran);
  src.run(CONTINUE);
  deepStrictEqual(withoutConsole(dest), withoutConsole(src));
});

Deno.test("postcopy on file: is refused before anything is sent: it needs a return path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = source();
    const out = await openOutgoing({ kind: "file", path: `${dir}/vm.qemu` });
    const status = await precopy(src, out, `file:${dir}/vm.qemu`, PARAMS, {
      capabilities: POSTCOPY,
    });
    strictEqual(status.state, "failed");
    ok(/return path/.test(status.reason!), String(status.reason));
    strictEqual(status.guestLost, false);
    await rejects(Deno.stat(`${dir}/vm.qemu`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a link cut before the switch-over: no postcopy, the source keeps the guest", async () => {
  const src = source();
  // postcopy-ram is on but never started, so the cut is sure to come before any switch-over.
  const { status, incoming } = await migrate(src, {
    refuseAt: "precopy",
    params: { ...PARAMS, postcopyAfterRounds: 0 },
  });
  ok(status.state === "failed" || status.state === "cancelled", status.state);
  strictEqual(status.postcopy, null);
  strictEqual(status.guestLost, false);
  ok(incoming instanceof Error);
  // The source's guest is intact: it runs on.
  ok(src.run(1000).insns > 0);
});

Deno.test("a link cut during postcopy: both sides report the guest lost (QEMU 7.2: failed)", async () => {
  const { status, incoming } = await migrate(source(), { cutAt: "postcopy" });
  strictEqual(status.state, "failed");
  ok(status.postcopy);
  strictEqual(status.guestLost, true);
  ok(/cannot continue on either side/.test(status.reason!), String(status.reason));
  ok(incoming instanceof TransportError, String(incoming));
  ok(/cannot continue on either side/.test(incoming.message), incoming.message);
});

Deno.test("a link cut at the end (no SHUT): the source does not claim success", async () => {
  const { status, incoming } = await migrate(source(), { holdShut: true });
  ok(!(incoming instanceof Error), String(incoming));
  strictEqual(status.state, "failed");
  strictEqual(status.guestLost, true);
  ok(/did not confirm|without confirming|closed/.test(status.reason!), String(status.reason));
});
