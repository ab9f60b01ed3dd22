import { ok, rejects, strictEqual, throws } from "node:assert/strict";
import { UsageError } from "../../repl/commands/types.ts";
import { remainingGoal, Session } from "../../repl/session.ts";
import { SnapshotStore } from "../../harness/store/store.ts";
import { getFieldValue } from "../../harness/store/device_state.ts";
import { until } from "./_io.ts";

const store = () => Deno.makeTempDirSync();

Deno.test("Session.withDefaultMachine() boots the demo guest paused at reset", async () => {
  const s = await Session.withDefaultMachine({ ramSize: 16 << 20, store: store() });
  strictEqual(s.machine.cpu.state.pc, 0x8000_0000);
  strictEqual(s.machine.cpu.instret, 0);
  strictEqual(s.guest?.name, "demo.elf");
});

Deno.test("Session takes its store from the options, else SNAPSHELL_STORE", () => {
  const dir = store();
  strictEqual(new Session({ store: dir, ramSize: 1 << 20 }).store.dir, dir);
  const given = new SnapshotStore(dir);
  strictEqual(new Session({ store: given, ramSize: 1 << 20 }).store, given);
  const saved = Deno.env.get("SNAPSHELL_STORE");
  try {
    Deno.env.set("SNAPSHELL_STORE", "/tmp/elsewhere");
    strictEqual(new Session({ ramSize: 1 << 20 }).store.dir, "/tmp/elsewhere");
  } finally {
    if (saved === undefined) Deno.env.delete("SNAPSHELL_STORE");
    else Deno.env.set("SNAPSHELL_STORE", saved);
  }
});

Deno.test("the session echoes the console of every machine it makes", async () => {
  const s = await Session.withDefaultMachine({ ramSize: 16 << 20, store: store() });
  let echoed = "";
  s.echo = (b) => echoed += String.fromCharCode(b);
  s.machine.run(200_000);
  ok(echoed.includes("snapshell demo guest"));
  strictEqual(echoed, s.machine.consoleText);
});

Deno.test("one run at a time; stopRun() ends it; install() stops the old machine's run", async () => {
  const s = await Session.withDefaultMachine({ ramSize: 16 << 20, store: store() });
  const a = s.startRun({ kind: "forever" }, true, false);
  throws(() => s.startRun({ kind: "cycles", count: 1 }, false), UsageError);
  throws(() => s.requireStopped("step"), UsageError);
  await until(() => s.machine.cpu.instret > 1000);
  const o = await s.stopRun();
  strictEqual(o?.end, "interrupted");
  strictEqual(s.active, undefined);
  s.startRun({ kind: "forever" }, true);
  s.install(s.freshMachine());
  strictEqual(s.active, undefined);
  strictEqual(a.run.running, false);
});

Deno.test("paused() stops a background run for the work and resumes it after", async () => {
  const s = await Session.withDefaultMachine({ ramSize: 16 << 20, store: store() });
  s.startRun({ kind: "forever" }, true);
  const during = await s.paused(() => Promise.resolve(s.active));
  strictEqual(during, undefined);
  ok(s.active?.background);
  await s.stopRun();
  s.startRun({ kind: "cycles", count: 10 }, false);
  await rejects(s.paused(() => Promise.resolve(1)), UsageError);
  await s.stopRun();
});

Deno.test("remainingGoal() subtracts what already ran", () => {
  const g = remainingGoal({ kind: "cycles", count: 100 }, 30);
  strictEqual(g?.kind === "cycles" && g.count, 70);
  strictEqual(remainingGoal({ kind: "cycles", count: 100 }, 100), undefined);
  strictEqual(remainingGoal({ kind: "forever" }, 5)?.kind, "forever");
});

Deno.test("send() types into the UART and wakes a waiting run", async () => {
  const s = await Session.withDefaultMachine({ ramSize: 16 << 20, store: store() });
  s.send("xy");
  ok(Number(getFieldValue(s.machine, "serial.serial.input_count")) > 0, "queued in the UART");
  const run = s.startRun({ kind: "forever" }, true);
  await until(() => s.machine.consoleText.includes("xy"));
  await s.stopRun();
  strictEqual(run.run.running, false);
});

Deno.test("cancellable() hands out a signal that cancelOperation() (Ctrl-C) aborts, once", async () => {
  const s = new Session({ ramSize: 1 << 20, store: Deno.makeTempDirSync() });
  strictEqual(s.cancelOperation(), false, "nothing to cancel");
  let seen: AbortSignal | undefined;
  const result = await s.cancellable(async (signal) => {
    seen = signal;
    strictEqual(s.cancellableRunning, true);
    await Promise.resolve();
    strictEqual(s.cancelOperation(), true);
    strictEqual(signal.aborted, true);
    strictEqual(s.cancelOperation(), false, "already cancelled: a second Ctrl-C is not taken");
    strictEqual(s.cancellableRunning, false);
    return 42;
  });
  strictEqual(result, 42);
  ok(seen?.aborted);
  strictEqual(s.cancelOperation(), false, "the operation is over");
  await rejects(s.cancellable(() => Promise.reject(new RangeError("boom"))), RangeError);
  strictEqual(s.cancellableRunning, false);
});
