import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import type { VirtMachine } from "../../../emu/virt.ts";
import {
  StateValidationError,
  StreamTruncatedError,
  TransportError,
} from "../../../migration/errors.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";
import { precopy } from "../../../harness/migration/precopy.ts";
import { openOutgoing } from "../../../harness/migration/transport.ts";
import { parseFault } from "../../../harness/wire/fault_spec.ts";
import { type ProxyOptions, runProxy } from "../../../harness/wire/proxy.ts";
import { demoMachine, destination, saveToBytes } from "./_streams.ts";

/** A destination, a proxy in front of it with `faults`, and a source migrating through both. */
async function migrateThrough(words: string[], opts: ProxyOptions = {}) {
  const dst = await destination();
  let listening!: (port: number) => void;
  const proxyPort = new Promise<number>((r) => listening = r);
  const events: string[] = [];
  const proxy = runProxy({ host: "127.0.0.1", port: 0 }, { host: "127.0.0.1", port: dst.port }, {
    faults: words.map(parseFault),
    timeoutMs: 20_000,
    onListening: (uri) => listening(Number(uri.slice(uri.lastIndexOf(":") + 1))),
    onEvent: (e) => events.push(`${e.fault} @${e.sourceOffset} ${e.where.section}`),
    ...opts,
  });
  const source = await demoMachine();
  const out = await openOutgoing({ kind: "tcp", host: "127.0.0.1", port: await proxyPort });
  const status = await precopy(source, out, "tcp:proxy", DEFAULT_PARAMETERS);
  return { source, status, report: await proxy, received: await dst.received, events };
}

Deno.test("runProxy() without faults passes a live migration through and relays the verdict", async () => {
  const { source, status, report, received } = await migrateThrough([]);
  strictEqual(status.state, "completed");
  deepStrictEqual(report.verdict, { outcome: "loaded" });
  strictEqual(report.engine.sent, status.bytes);
  ok(report.layoutKnown);
  ok(!received.error);
  deepStrictEqual(await saveToBytes(received.machine as VirtMachine), await saveToBytes(source));
});

Deno.test("runProxy() cut inside a device section: destination refuses, source keeps its guest", async () => {
  const { source, status, report, received, events } = await migrateThrough(["cut:serial+30"]);
  strictEqual(status.state, "failed");
  ok(status.error instanceof TransportError);
  strictEqual(source.ramSection.saving, false, "the source is not left mid-migration");
  const before = source.cpu.instret;
  source.run(100_000);
  ok(source.cpu.instret > before, "the source's guest runs on");
  strictEqual(report.engine.cut?.where.section, "serial");
  strictEqual(report.verdict.outcome, "rejected");
  ok(received.error instanceof StreamTruncatedError, String(received.error));
  strictEqual(received.error.section, "serial");
  deepStrictEqual(events, [`cut:serial+30 @${report.engine.cut!.sourceOffset} serial`]);
});

Deno.test("runProxy() flips a field named before the vmdesc arrived; validation catches it", async () => {
  const { status, report, received } = await migrateThrough(["flip:goldfish_rtc.irq_enabled:1"]);
  strictEqual(status.state, "failed");
  ok(/rejected the stream/.test(String(status.reason)), status.reason ?? "");
  strictEqual(report.engine.events.length, 1);
  strictEqual(report.engine.events[0].where.field, "goldfish_rtc.irq_enabled");
  ok(received.error instanceof StateValidationError, String(received.error));
  strictEqual(received.error.section, "goldfish_rtc");
});

Deno.test("runProxy() reports faults that never fired", async () => {
  const { status, report } = await migrateThrough(["cut:virtio-net"]);
  strictEqual(status.state, "completed");
  deepStrictEqual(report.engine.unreached.map((u) => u.fault), ["cut:virtio-net"]);
  ok(/no section "virtio-net"/.test(report.engine.unreached[0].reason));
});

/** A loopback port nothing listens on (it was just closed). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  l.close();
  return l.addr.port;
}

Deno.test("runProxy() gives up on a source that never comes and a target that is not there", async () => {
  const nowhere = { host: "127.0.0.1", port: closedPort() };
  await rejects(
    runProxy({ host: "127.0.0.1", port: 0 }, nowhere, { timeoutMs: 20 }),
    (e) => e instanceof TransportError && /Waiting for a source to connect/.test(e.message),
  );
  let listening!: (port: number) => void;
  const port = new Promise<number>((r) => listening = r);
  const proxy = runProxy({ host: "127.0.0.1", port: 0 }, nowhere, {
    timeoutMs: 100,
    onListening: (uri) => listening(Number(uri.slice(uri.lastIndexOf(":") + 1))),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: await port });
  await rejects(
    proxy,
    (e) => e instanceof TransportError && /(Cannot connect|Connecting) to/.test(e.message),
  );
  strictEqual(await conn.read(new Uint8Array(8)), null, "the source's connection is closed");
  conn.close();
});
