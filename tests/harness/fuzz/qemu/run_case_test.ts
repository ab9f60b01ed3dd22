import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { QemuPool } from "../../../../harness/fuzz/qemu/pool.ts";
import { DEFAULT_RUN_INSNS } from "../../../../harness/fuzz/qemu/run_case.ts";
import { CaseMaker } from "../../../../harness/fuzz/cases.ts";
import { skip, snapshellQemus, tickerSeed } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";

/** `bytes` with the first `from` replaced by `to` (same length): a section QEMU does not have. */
function rename(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const f = new TextEncoder().encode(from);
  const out = bytes.slice();
  for (let i = 0; i + f.length <= out.length; i++) {
    if (f.every((c, j) => out[i + j] === c)) {
      out.set(new TextEncoder().encode(to), i);
      return out;
    }
  }
  throw new Error(`${from} not in the stream`);
}

Deno.test({
  name:
    `QEMU classifies hand-made cases: truncated and unknown section rejected, the seed runs${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const pool = await QemuPool.create({ argv, warm: 1 });
    try {
      const valid = await pool.run(bytes);
      strictEqual(valid.class, "accepted", JSON.stringify(valid));
      ok(valid.consoleBytes! > 0, "the ticker's console output continues after cont");

      const truncated = await pool.run(bytes.subarray(0, 4096));
      strictEqual(truncated.class, "rejected", JSON.stringify(truncated));
      strictEqual(truncated.exit, "exit code 1");
      ok(/qemu-system-riscv32: /.test(truncated.detail ?? ""), String(truncated.detail));

      const unknown = await pool.run(rename(bytes, "goldfish_rtc", "goldfish_rtX"));
      strictEqual(unknown.class, "rejected", JSON.stringify(unknown));
      ok(
        /Unknown savevm section or instance 'goldfish_rtX'/.test(unknown.detail!),
        String(unknown.detail),
      );
    } finally {
      await pool.close();
    }
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test("a QEMU that is not installed never starts: no-start with the reason", async () => {
  const pool = await QemuPool.create({
    argv: ["qemu-system-does-not-exist", "-M", "virt"],
    warm: 1,
  });
  try {
    const o = await pool.run(new Uint8Array(16));
    strictEqual(o.class, "no-start");
    ok(/qemu-system-does-not-exist/.test(o.detail ?? ""), String(o.detail));
  } finally {
    await pool.close();
  }
});

/** SIGSTOP this test's QEMUs for `stopMs` out of every `stopMs + runMs` until `done` resolves. */
async function starve(done: Promise<unknown>, stopMs: number, runMs: number): Promise<number> {
  let finished = false;
  done.finally(() => finished = true);
  let rounds = 0;
  const pids = async () => (await snapshellQemus()).map((l) => Number(l.trim().split(/\s+/)[0]));
  while (!finished) {
    const stopped = await pids();
    for (const pid of stopped) {
      try {
        Deno.kill(pid, "SIGSTOP");
      } catch { /* ended since ps listed it */ }
    }
    await new Promise((r) => setTimeout(r, stopMs));
    for (const pid of stopped) {
      try {
        Deno.kill(pid, "SIGCONT");
      } catch { /* gone */ }
    }
    rounds++;
    await new Promise((r) => setTimeout(r, runMs));
  }
  return rounds;
}

Deno.test({
  name: `the verdict follows the guest's instructions: a starved QEMU's guest still runs${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    ok(argv.includes("-icount"), "the seed runs under -icount");
    const pool = await QemuPool.create({ argv, warm: 1, runInsns: 20_000_000 });
    try {
      // QEMU gets 5 ms of every 405: with a wall-clock verdict its guest would look stopped.
      const run = pool.run(bytes);
      const rounds = await starve(run, 400, 5);
      const o = await run;
      strictEqual(o.class, "accepted", JSON.stringify(o));
      ok(o.guestInsns! >= 20_000_000, JSON.stringify(o));
      ok(o.consoleBytes! > 0, "the ticker wrote to its console");
      strictEqual(o.safetyNet, undefined);
      ok(rounds > 0);
    } finally {
      await pool.close();
    }
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test({
  name: `a halted vCPU with nothing to wake it is idle for good: decided at once${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const maker = await CaseMaker.create(bytes);
    const pool = await QemuPool.create({ argv, warm: 1, runInsns: 1_000_000_000, qmpMs: 20_000 });
    try {
      // CPU_INTERRUPT_HALT: QEMU says `running`, the vCPU never executes another instruction.
      const halted = await maker.build([
        { op: "set-field", path: "cpu_common.interrupt_request", value: "0x20" },
      ]);
      const o = await pool.run(halted);
      strictEqual(o.class, "accepted", JSON.stringify(o));
      strictEqual(o.idle, true, JSON.stringify(o));
      strictEqual(o.consoleBytes, 0);
      strictEqual(o.safetyNet, undefined, "decided by the guest, not the safety net");
    } finally {
      await pool.close();
    }
  },
});

Deno.test({
  name: `a vCPU that spins without executing the guest ends the run by its CPU time, not the ` +
    `wall-clock net${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const maker = await CaseMaker.create(bytes);
    // A wall-clock net far away (2 × qmpMs): only the spin rule can end this run in a test's time.
    const pool = await QemuPool.create({ argv, warm: 1, qmpMs: 600_000 });
    try {
      // A locked TOR entry with X only binds M-mode: the hart faults at its trap vector forever,
      // QEMU's vCPU keeps running and its instruction counter stands still (qemu-findings 9).
      const frozen = await maker.build([
        { op: "set-field", path: "cpu/pmp.env.pmp_state.pmp[15].cfg_reg", value: "0xec" },
      ]);
      const o = await pool.run(frozen);
      strictEqual(o.class, "accepted", JSON.stringify(o));
      strictEqual(o.spinning, true, JSON.stringify(o));
      ok(/spinning/.test(o.safetyNet ?? ""), "flagged like the wall-clock net");
      ok(o.guestInsns! < DEFAULT_RUN_INSNS);
      strictEqual(o.idle, undefined, "not idle: its vCPU kept using a core");
    } finally {
      await pool.close();
    }
  },
});
