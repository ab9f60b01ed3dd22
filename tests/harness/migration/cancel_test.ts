/** Cancellation pieces: the checkpoint, racing a promise and a pausable sleep against a signal. */
import { ok, rejects, strictEqual } from "node:assert/strict";
import {
  cancellableSleep,
  Checkpoint,
  MigrationCancelledError,
  nextTurn,
  raceCancel,
  throwIfCancelled,
} from "../../../harness/migration/cancel.ts";

Deno.test("Checkpoint.pass() lets a pending event through and then throws once aborted", async () => {
  const ac = new AbortController();
  const gate = new Checkpoint(ac.signal, 0); // a turn every time
  // An abort queued behind the work, as a key press or a signal would be.
  setTimeout(() => ac.abort(), 0);
  let passes = 0;
  await rejects(
    (async () => {
      for (; passes < 10_000; passes++) await gate.pass();
    })(),
    MigrationCancelledError,
  );
  ok(passes < 10_000, "the abort got through");
  strictEqual(gate.cancelled, true);
  await rejects(gate.pass(), MigrationCancelledError);
});

Deno.test("Checkpoint.pass() without a signal never throws and never yields", async () => {
  const gate = new Checkpoint(undefined, 0);
  let timerRan = false;
  const timer = setTimeout(() => timerRan = true, 0);
  for (let i = 0; i < 1000; i++) await gate.pass();
  strictEqual(timerRan, false, "no turn of the event loop was given");
  clearTimeout(timer);
  strictEqual(gate.cancelled, false);
});

Deno.test("throwIfCancelled() names what was cancelled", () => {
  throwIfCancelled(undefined);
  throwIfCancelled(new AbortController().signal);
  const ac = new AbortController();
  ac.abort();
  try {
    throwIfCancelled(ac.signal, "incoming migration");
    ok(false, "did not throw");
  } catch (e) {
    ok(e instanceof MigrationCancelledError);
    strictEqual(e.message, "The incoming migration was cancelled");
    strictEqual(e.name, "MigrationCancelledError");
  }
});

Deno.test("raceCancel() settles as the promise does, or rejects at once on abort", async () => {
  strictEqual(await raceCancel(Promise.resolve(7), new AbortController().signal), 7);
  strictEqual(await raceCancel(Promise.resolve(8), undefined), 8);
  await rejects(raceCancel(Promise.reject(new RangeError("x")), undefined), RangeError);
  const ac = new AbortController();
  let late!: (v: number) => void;
  const never = new Promise<number>((r) => late = r);
  const raced = raceCancel(never, ac.signal);
  ac.abort();
  await rejects(raced, MigrationCancelledError);
  late(1); // settling afterwards is ignored
  const done = new AbortController();
  done.abort();
  await rejects(
    raceCancel(Promise.reject(new Error("ignored")), done.signal),
    MigrationCancelledError,
  );
});

Deno.test("cancellableSleep() resolves after the delay, or rejects and clears its timer on abort", async () => {
  await cancellableSleep(1, undefined);
  const ac = new AbortController();
  const sleeping = cancellableSleep(60_000, ac.signal); // a leaked timer fails the test
  await nextTurn();
  ac.abort();
  await rejects(sleeping, MigrationCancelledError);
  await rejects(cancellableSleep(1, ac.signal), MigrationCancelledError);
});
