import { ok, rejects, strictEqual } from "node:assert/strict";
import { QmpClient, QmpCommandError, QmpError } from "../../../../harness/fuzz/qemu/qmp.ts";

/** A QMP peer on loopback that greets, answers by id as `answer` says, and can send events. */
async function fakeQemu(answer: (cmd: Record<string, unknown>) => Record<string, unknown>[]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  listener.close();
  const enc = new TextEncoder();
  const send = (m: unknown) => server.write(enc.encode(JSON.stringify(m) + "\r\n"));
  await send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } });
  (async () => {
    let buf = "";
    for await (const chunk of server.readable) {
      buf += new TextDecoder().decode(chunk);
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        for (const m of answer(cmd)) await send(m);
      }
    }
  })().catch(() => {});
  return { conn: await client, server };
}

Deno.test("QMP: greeting, capabilities, answers matched by id, errors typed, events queued", async () => {
  const { conn, server } = await fakeQemu((cmd) => {
    if (cmd.execute === "query-status") {
      return [
        { event: "STOP", data: {} },
        { return: { status: "paused", running: false }, id: cmd.id },
      ];
    }
    if (cmd.execute === "nope") {
      return [{
        error: { class: "CommandNotFound", desc: "The command nope has not been found" },
        id: cmd.id,
      }];
    }
    return [{ return: {}, id: cmd.id }];
  });
  const qmp = await QmpClient.open(conn, 5_000);
  try {
    strictEqual(qmp.version, "7.2.22");
    const s = await qmp.execute("query-status") as { status: string };
    strictEqual(s.status, "paused");
    const stop = await qmp.waitEvent((e) => e.event === "STOP", 5_000);
    strictEqual(stop?.event, "STOP");
    const e = await qmp.execute("nope").catch((x) => x);
    ok(e instanceof QmpCommandError);
    strictEqual(e.errorClass, "CommandNotFound");
    server.close();
    await rejects(qmp.execute("cont"), QmpError);
    strictEqual(await qmp.waitEvent(() => true, 5_000), undefined, "no event after the end");
    ok(qmp.closed);
  } finally {
    qmp.close();
  }
});
