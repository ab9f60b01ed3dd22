import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  incomingArgs,
  QemuProcess,
  QemuStartError,
} from "../../../../harness/fuzz/qemu/process.ts";
import { skip, snapshellQemus } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";
const VIRT = ["qemu-system-riscv32", "-M", "virt", "-bios", "none", "-m", "16M"];

Deno.test("snapshell's arguments: paused, deferred incoming, QMP to us, serial to a file", () => {
  deepStrictEqual(incomingArgs(["-M", "virt"], 4444, "/d/s.txt"), [
    ...["-S", "-incoming", "defer", "-qmp", "tcp:127.0.0.1:4444", "-monitor", "none"],
    ...["-serial", "file:/d/s.txt", "-display", "none"],
  ]);
  const own = incomingArgs(["-nographic", "-serial", "null"], 1, "/s", false);
  ok(!own.includes("-incoming") && !own.includes("-display") && !own.includes("file:/s"));
});

Deno.test({
  name: `a QEMU waits on a loopback port, answers QMP, and is gone after dispose${ignored}`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qemu-" });
    try {
      const q = await QemuProcess.start(VIRT, { dir });
      strictEqual(q.inlet.via, "tcp");
      ok(q.inlet.port! > 0);
      strictEqual(q.inlet.uri, `tcp:127.0.0.1:${q.inlet.port}`);
      strictEqual(q.qmp.version.split(".")[0], "7");
      const s = await q.qmp.execute("query-status") as { status: string };
      strictEqual(s.status, "inmigrate");
      await q.dispose();
      strictEqual(q.exit?.signal, "SIGKILL");
      // exec: QEMU runs `cat FIFO` for its stream; the FIFO goes with the QEMU.
      const e = await QemuProcess.start(VIRT, { dir, via: "exec" });
      strictEqual(e.inlet.via, "exec");
      ok(e.inlet.uri.startsWith("exec:cat ") && e.inlet.uri.endsWith(".fifo"), e.inlet.uri);
      ok((await Deno.stat(e.inlet.fifo!)).isFifo);
      strictEqual((await e.qmp.execute("query-status") as { status: string }).status, "inmigrate");
      await e.dispose();
      await rejects(Deno.stat(e.inlet.fifo!), Deno.errors.NotFound);
      const bad = await QemuProcess.start([...VIRT, "-no-such-option"], { dir }).catch((e) => e);
      ok(bad instanceof QemuStartError, String(bad));
      ok(/no-such-option/.test(bad.message), bad.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    deepStrictEqual(await snapshellQemus(), []);
  },
});

Deno.test({
  name: `SIGTERM to snapshell ends the QEMUs it started (their own process groups)${ignored}`,
  ignore: skip !== null,
  async fn() {
    const script = new URL("../../../fixtures/qemu-fuzz/start_and_wait.ts", import.meta.url);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script.pathname, ...VIRT],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const pids = text.trim().split(" ").map(Number);
    strictEqual(pids.length, 2, text);
    child.kill("SIGTERM");
    strictEqual((await child.status).code, 143);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const left = (await snapshellQemus()).filter((l) =>
      pids.includes(Number(l.trim().split(" ")[0]))
    );
    deepStrictEqual(left, []);
  },
});
