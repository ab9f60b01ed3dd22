import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  QemuBaseError,
  reproduceCommand,
  runQemuCampaign,
  shrinkFinding,
  silent,
} from "../../../../harness/fuzz/qemu/campaign.ts";
import { qemuSignature } from "../../../../harness/fuzz/qemu/outcome.ts";
import { QemuPool } from "../../../../harness/fuzz/qemu/pool.ts";
import { CaseMaker } from "../../../../harness/fuzz/cases.ts";
import type { CorruptOp } from "../../../../migration/corrupt/ops.ts";
import { mergeShards } from "../../../../harness/fuzz/shard_file.ts";
import { skip, snapshellQemus, tickerSeed } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";

Deno.test({
  name:
    `a small seeded campaign against QEMU: every case classified, shards merge to the whole${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const root = await Deno.makeTempDir();
    try {
      const opts = { argv, iterations: 12, seed: 7, lanes: 2 };
      const whole = await runQemuCampaign(bytes, { ...opts, outDir: `${root}/whole` });
      strictEqual(whole.casesRun, 12);
      strictEqual(Object.values(whole.counts).reduce((a, b) => a + b, 0), 12);
      strictEqual(whole.counts["no-start"], 0);
      strictEqual(whole.safetyNet, 0, "every verdict decided by the guest, not the wall clock");
      ok(whole.counts.rejected > 0, JSON.stringify(whole.counts));
      ok(whole.runsPerSecond > 0);
      const dirs = [`${root}/a`, `${root}/b`];
      for (const [i, outDir] of dirs.entries()) {
        await runQemuCampaign(bytes, { ...opts, shard: { k: i + 1, n: 2 }, outDir });
      }
      const merged = await mergeShards(dirs);
      strictEqual(merged.target, "qemu");
      // QEMU's verdicts on the same bytes are the same: the slices add up to the whole.
      deepStrictEqual(merged.counts, whole.counts);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test({
  name:
    `how QEMUs are run (lanes, starts ahead, huge-page heap, tcp: or exec:) never changes a case's verdict${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const verdicts = async (
      settings: { lanes: number; warm: number; hugeHeap: boolean; via?: "tcp" | "exec" },
    ) => {
      const seen = new Map<number, string>();
      const r = await runQemuCampaign(bytes, {
        argv,
        iterations: 10,
        seed: 11,
        ...settings,
        maxReports: 0,
        onCase: (i, o) => seen.set(i, qemuSignature(o)),
      });
      strictEqual(r.safetyNet, 0, "every verdict decided by the guest, not the wall clock");
      return { seen, counts: r.counts };
    };
    // The old runner: one lane, one QEMU started ahead, glibc's default heap.
    const old = await verdicts({ lanes: 1, warm: 1, hugeHeap: false });
    const fast = await verdicts({ lanes: 2, warm: 6, hugeHeap: true });
    strictEqual(old.seen.size, 10);
    ok(new Set(old.seen.values()).size > 1, "the cases are not all alike");
    deepStrictEqual(
      [...fast.seen].sort((a, b) => a[0] - b[0]),
      [...old.seen].sort((a, b) => a[0] - b[0]),
    );
    deepStrictEqual(fast.counts, old.counts);
    const piped = await verdicts({ lanes: 2, warm: 4, hugeHeap: true, via: "exec" });
    deepStrictEqual(
      [...piped.seen].sort((a, b) => a[0] - b[0]),
      [...old.seen].sort((a, b) => a[0] - b[0]),
      "through exec: as through tcp:",
    );
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test({
  name: `a base stream QEMU refuses stops the campaign before any case${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    await rejects(
      runQemuCampaign(bytes.subarray(0, 100), { argv, iterations: 5, seed: 1, lanes: 1 }),
      QemuBaseError,
    );
    deepStrictEqual(await snapshellQemus(), []);
  },
});

Deno.test("the reproducing command loads the saved stream into a stock QEMU as the campaign did", () => {
  strictEqual(
    reproduceCommand(["qemu-system-riscv32", "-M", "virt", "-m", "16M"], "out/qemu 1.bin"),
    `(echo '{"execute":"qmp_capabilities"}'; sleep 3; echo '{"execute":"cont"}'; sleep 2) | ` +
      "qemu-system-riscv32 -M virt -m 16M -display none -S -incoming 'exec:cat out/qemu 1.bin' " +
      `-qmp stdio >/dev/null; echo "exit $?"`,
  );
});

Deno.test({
  name:
    `a QEMU crash recipe shrinks to the one operation that keeps its class and signal${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const maker = await CaseMaker.create(bytes);
    const pool = await QemuPool.create({ argv, warm: 1 });
    try {
      // Found by the campaign (docs/qemu-findings.md): QEMU 7.2 segfaults after cont.
      const crash: CorruptOp = {
        op: "set-field",
        path: "cpu_common.interrupt_request",
        value: "0x603c92ff",
      };
      const harmless: CorruptOp = { op: "set-field", path: "globalstate.size", value: "0x7" };
      const ops = [harmless, crash];
      const o = await pool.run(await maker.build(ops));
      strictEqual(o.class, "crashed", JSON.stringify(o));
      const judge = (b: Uint8Array) => pool.run(b);
      const shrunk = await shrinkFinding(ops, qemuSignature(o), judge, maker, 12);
      strictEqual(shrunk?.length, 1, JSON.stringify(shrunk));
      strictEqual((shrunk![0] as { path: string }).path, "cpu_common.interrupt_request");
      const again = await pool.run(await maker.build(shrunk!));
      strictEqual(qemuSignature(again), qemuSignature(o));
    } finally {
      await pool.close();
    }
  },
});

Deno.test("a guest that stops writing to its console after the load did not keep running", () => {
  const quiet = { class: "accepted" as const, phase: "run", consoleBytes: 0 };
  const budget = "5000000 guest instructions";
  strictEqual(silent(quiet, 2000, budget).class, "stopped");
  ok(/wrote nothing in 5000000 guest instructions/.test(silent(quiet, 2000, budget).detail!));
  strictEqual(silent(quiet, 0, budget).class, "accepted", "a seed whose guest is silent anyway");
  strictEqual(silent({ ...quiet, consoleBytes: 5 }, 2000, budget).class, "accepted");
  const idle = silent({ ...quiet, idle: true }, 2000, budget);
  strictEqual(idle.class, "stopped");
  ok(/went idle for good/.test(idle.detail!), String(idle.detail));
  const cut = { ...quiet, safetyNet: "12 of 5000000 guest instructions in 120000 ms" };
  strictEqual(silent(cut, 2000, budget).class, "accepted", "too little ran to tell: flagged");
});
