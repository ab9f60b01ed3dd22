/**
 * Fuzz throughput on the demo guest's snapshot with 16 MiB of RAM: one fuzz case (draw the
 * recipe, build the stream, load it into a fresh machine, classify, reset), one full load of the
 * unmodified snapshot into the reused machine, and the same load into a new machine each time
 * (what the reuse saves). `deno task bench` runs them as Deno.bench; run the file directly for a
 * one-line loads-per-second figure per core, on the demo snapshot or on a snapshot file (a
 * QEMU stream, e.g. `export`ed from the shell):
 *
 *   deno run --allow-read bench/fuzz_bench.ts [cases] [snapshot.qevm | demo] [no-preload]
 *
 * (`no-preload` turns pre-loaded RAM off, for a side-by-side figure of what it saves.)
 *
 * @module
 */
import process from "node:process";
import { RAM_MAX_SIZE } from "../emu/ram.ts";
import { DEFAULT_GUEST, VirtMachine } from "../emu/virt.ts";
import { CaseMaker } from "../harness/fuzz/cases.ts";
import { emptyCounts } from "../harness/fuzz/classes.ts";
import { ReusableMachine } from "../harness/fuzz/fresh.ts";
import { FuzzTarget } from "../harness/fuzz/target.ts";
import { plainMachine } from "../harness/replay/fork.ts";
import { probeRamLayout } from "../migration/ram/probe.ts";
import { StreamReader } from "../migration/stream/reader.ts";
import { StreamWriter } from "../migration/stream/writer.ts";
import { STRATEGY_WEIGHTS } from "../migration/corrupt/mod.ts";

const RAM = 16 << 20;

async function baseSnapshot(): Promise<Uint8Array> {
  const m = new VirtMachine({ ramSize: RAM });
  m.boot(await Deno.readFile(DEFAULT_GUEST));
  m.run(1_000_000);
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

const file = import.meta.main && Deno.args[1] !== "demo" ? Deno.args[1] : undefined;
const preload = !(import.meta.main && Deno.args[2] === "no-preload");
const base = file ? await Deno.readFile(file) : await baseSnapshot();
const ramSize = file
  ? (await probeRamLayout(StreamReader.fromBytes(base), RAM_MAX_SIZE))?.total ?? RAM
  : RAM;
const maker = await CaseMaker.create(base, 3, STRATEGY_WEIGHTS, preload);
const target = await FuzzTarget.create(base);
const reusable = new ReusableMachine(plainMachine, { ramSize });
let next = 0;

Deno.bench("fuzz case: draw, build, load into a fresh machine, classify (16 MiB)", async () => {
  const c = await maker.make(1, next++);
  await target.run(c.input, c.ramPreloaded ? maker.preload : undefined);
});

Deno.bench("full load of the snapshot into the reused machine, then reset (16 MiB)", async () => {
  await reusable.machine.load(StreamReader.fromBytes(base));
  reusable.restore();
});

Deno.bench("full load of the snapshot into a new machine (16 MiB)", async () => {
  await new VirtMachine({ ramSize: RAM }).load(StreamReader.fromBytes(base));
});

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 20_000);
  // As in the workers: rejections are typed errors whose stack traces nobody reads.
  (Error as unknown as { stackTraceLimit: number }).stackTraceLimit = 0;
  const counts = emptyCounts();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let preloaded = 0;
  for (let i = 0; i < n; i++) {
    const c = await maker.make(7, i);
    if (c.ramPreloaded) preloaded++;
    counts[(await target.run(c.input, c.ramPreloaded ? maker.preload : undefined)).class]++;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({
    snapshot: file ?? `demo guest, ${RAM >> 20} MiB`,
    ramMiB: ramSize / 2 ** 20,
    streamBytes: base.length,
    cases: n,
    preloaded: preload ? preloaded : "off",
    counts,
    loadsPerSecond: Math.round(n / wall),
    loadsPerCpuSecond: Math.round(n / cpuSeconds),
  }));
  const full = Math.min(2_000, Math.ceil(n / 10));
  const t1 = performance.now();
  for (let i = 0; i < full; i++) {
    await reusable.machine.load(StreamReader.fromBytes(base));
    reusable.restore();
  }
  console.log(JSON.stringify({
    fullLoadsPerSecond: Math.round(full / ((performance.now() - t1) / 1000)),
  }));
}
