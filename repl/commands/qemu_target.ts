/**
 * `--target qemu -- QEMU ARGS` for `fuzz`, `check` and `replay`: the stream (or each mutated
 * case) goes into a fresh QEMU started with the user's machine arguments, and QEMU's verdict is
 * reported: rejected with its error text, accepted (and whether the guest kept running), crashed,
 * hung, never started. The work is in harness/fuzz/qemu.
 * @module
 */
import {
  DEFAULT_WARM_PER_LANE,
  type Oracle,
  runQemuCampaign,
} from "../../harness/fuzz/qemu/campaign.ts";
import {
  isQemuFinding,
  QEMU_CLASS_MEANING,
  QEMU_CLASSES,
  type QemuOutcome,
} from "../../harness/fuzz/qemu/outcome.ts";
import { QemuPool } from "../../harness/fuzz/qemu/pool.ts";
import { QEMU_VIAS, type QemuVia } from "../../harness/fuzz/qemu/inlet.ts";
import { runQemuWithFaults } from "../../harness/fuzz/qemu/wire.ts";
import { formatEvent } from "../../harness/wire/fault_engine.ts";
import type { Fault } from "../../harness/wire/fault_spec.ts";
import { FaultSpecError } from "../../harness/wire/errors.ts";
import { type CaseBounds, DEFAULT_RUN_INSNS } from "../../harness/fuzz/qemu/run_case.ts";
import type { Shard } from "../../harness/fuzz/campaign.ts";
import { opWord } from "../../migration/corrupt/ops.ts";
import { EXIT_INTERRUPTED } from "../machine_text.ts";
import type { ShellContext } from "../session.ts";
import { renderTable } from "../style.ts";
import { enumType, positiveCountType } from "./arg_types.ts";
import { type CommandContext, type OptionDef, UsageError } from "./types.ts";

/** Which loader a command aims at. */
export const targetOption: OptionDef = {
  flags: "--target <loader>",
  description: "snapshell (default) or qemu: a fresh QEMU started with the arguments after --",
  default: "snapshell",
  type: enumType("loader", ["snapshell", "qemu"]),
};

/**
 * How long an accepted guest runs after `cont` and when QEMU counts as hung: in guest
 * instructions when the QEMU arguments have `-icount` (a verdict independent of the host's
 * speed), else in wall-clock time.
 */
export const qemuRunOptions: OptionDef[] = [
  {
    flags: "--run-ms <ms>",
    description: "with --target qemu and no -icount in its arguments: how long an accepted " +
      "guest runs after cont (wall-clock ms)",
    default: "300",
    type: positiveCountType,
  },
  {
    flags: "--guest-insns <n>",
    description: "with --target qemu and -icount: guest instructions an accepted guest runs " +
      "after cont (or until it goes idle for good)",
    default: String(DEFAULT_RUN_INSNS),
    type: positiveCountType,
  },
  {
    flags: "--qemu-incoming <how>",
    description: "with --target qemu: how the stream reaches QEMU: tcp (migrate-incoming " +
      "tcp:, a loopback port) or exec (migrate-incoming exec:cat FIFO: QEMU reads a command's " +
      "stdout, a pipe snapshell writes into)",
    default: "tcp",
    type: enumType("incoming", [...QEMU_VIAS]),
  },
  {
    flags: "--qmp-ms <ms>",
    description: "with --target qemu: QEMU answering no QMP command this long is hung " +
      "(wall-clock; twice this is the safety net of a load or run)",
    default: "60000",
    type: positiveCountType,
  },
];

/** How `fuzz --target qemu` runs its QEMUs (not a case's verdict: only how fast they come). */
export const qemuFuzzOptions: OptionDef[] = [
  {
    flags: "--warm <n>",
    description: "with --target qemu: QEMUs starting or waiting ahead of the cases (default " +
      `${DEFAULT_WARM_PER_LANE} per worker: a start takes longer than most cases)`,
    type: positiveCountType,
  },
  {
    flags: "--qemu-heap <kind>",
    description: "with --target qemu: huge (QEMU's malloc heap on transparent huge pages, " +
      "glibc.malloc.hugetlb=1: a third less CPU per start) or plain",
    default: "huge",
    type: enumType("heap", ["huge", "plain"]),
  },
];

/** The case bounds and the way in that the options of {@link qemuRunOptions} ask for. */
export function qemuBounds(opts: Record<string, unknown>): CaseBounds & { via: QemuVia } {
  return {
    runMs: opts.runMs as number,
    runInsns: opts.guestInsns as number,
    qmpMs: opts.qmpMs as number,
    via: (opts.qemuIncoming as QemuVia | undefined) ?? "tcp",
  };
}

/** The QEMU command line after `--`; a usage error when missing. */
export function qemuArgv(words: readonly unknown[], command: string): string[] {
  const argv = words.map(String);
  if (!argv.length || !/qemu/.test(argv[0])) {
    throw new UsageError(
      `${command} --target qemu needs the QEMU command line after --, e.g. ` +
        `-- qemu-system-riscv32 -M virt -bios none -m 16M`,
    );
  }
  return argv;
}

/** One line for an outcome. */
export function describeQemuOutcome(o: QemuOutcome): string {
  const parts: string[] = [o.class];
  if (o.phase) parts.push(`(${o.phase})`);
  if (o.exit) parts.push(`[${o.exit}]`);
  let s = parts.join(" ");
  if (o.detail) s += `: ${o.detail}`;
  if (o.consoleBytes !== undefined) s += `; the guest wrote ${o.consoleBytes} console bytes`;
  if (o.guestInsns !== undefined) s += ` in ${o.guestInsns} instructions`;
  if (o.idle) s += " (then went idle for good)";
  if (o.safetyNet) s += `; cut short by the wall-clock safety net: ${o.safetyNet}`;
  if (o.ours) s += `; snapshell: ${o.ours}`;
  return s;
}

/** The exit status of one QEMU verdict: 0 accepted, 1 rejected or stopped, 3 a QEMU bug. */
export function qemuExitCode(o: QemuOutcome): number {
  if (o.class === "accepted") return 0;
  if (o.class === "no-start") return 2;
  return isQemuFinding(o.class) ? 3 : 1;
}

/**
 * Load `bytes` into one fresh QEMU and report its verdict (`check --target qemu`, `replay
 * --target qemu`).
 */
export async function runOneQemu(
  ctx: CommandContext,
  what: string,
  bytes: Uint8Array,
  argv: string[],
  opts: Record<string, unknown>,
): Promise<number> {
  const pool = await QemuPool.create({
    argv,
    warm: 1,
    ...qemuBounds(opts),
  });
  let o: QemuOutcome;
  try {
    o = await pool.run(bytes);
  } finally {
    await pool.close();
  }
  if (opts.json) ctx.io.out(JSON.stringify({ target: "qemu", argv, ...o }));
  else ctx.io.out(`${what}: QEMU (${argv[0]}): ${describeQemuOutcome(o)}`);
  return qemuExitCode(o);
}

/**
 * Load `bytes` into one fresh QEMU through snapshell's wire fault engine (`replay --target qemu`
 * with `--cut-at`, `--stall-at`, `--rate`, `--chunk`) and report each fault as it fired and
 * QEMU's verdict, classified as for fuzz.
 */
export async function runOneQemuWire(
  ctx: CommandContext,
  what: string,
  bytes: Uint8Array,
  argv: string[],
  faults: Fault[],
  opts: Record<string, unknown>,
): Promise<number> {
  let r;
  try {
    r = await runQemuWithFaults(bytes, faults, { argv, ...qemuBounds(opts) });
  } catch (e) {
    if (e instanceof FaultSpecError) throw new UsageError(e.message);
    throw e;
  }
  const { outcome: o, engine } = r;
  if (opts.json) {
    ctx.io.out(JSON.stringify({
      target: "qemu",
      argv,
      ...o,
      ...(engine
        ? {
          faults: engine.events.map((e) => ({ ...e, text: formatEvent(e) })),
          unreached: engine.unreached,
          sent: engine.sent,
        }
        : {}),
    }));
  } else {
    for (const e of engine?.events ?? []) ctx.io.out(`${what}: ${formatEvent(e)}`);
    for (const u of engine?.unreached ?? []) {
      ctx.io.out(`${what}: fault ${u.fault} never fired: ${u.reason}`);
    }
    if (engine) ctx.io.out(`${what}: ${engine.sent} of ${bytes.length} bytes reached QEMU`);
    ctx.io.out(`${what}: QEMU (${argv[0]}): ${describeQemuOutcome(o)}`);
  }
  return qemuExitCode(o);
}

/** `fuzz FILE --target qemu -- QEMU ARGS`: a campaign against QEMU, printed like fuzz's own. */
export async function runFuzzQemu(
  ctx: ShellContext,
  base: { bytes: Uint8Array; name: string },
  argv: string[],
  settings: {
    iterations: number;
    seed: number;
    lanes: number;
    maxOps: number;
    bounds: CaseBounds & { via?: QemuVia };
    /** The options of {@link qemuFuzzOptions}. */
    runners?: Record<string, unknown>;
    outDir: string;
    shard?: Shard;
    oracle?: Oracle;
    json: boolean;
  },
): Promise<number> {
  const { shard } = settings;
  const slice = shard
    ? Math.floor((shard.k * settings.iterations) / shard.n) -
      Math.floor(((shard.k - 1) * settings.iterations) / shard.n)
    : settings.iterations;
  const bar = ctx.progress?.(`fuzz qemu${shard ? ` ${shard.k}/${shard.n}` : ""}`, slice, "count");
  let r;
  try {
    r = await ctx.session.cancellable((signal) =>
      runQemuCampaign(base.bytes, {
        argv,
        iterations: settings.iterations,
        seed: settings.seed,
        lanes: settings.lanes,
        ...(settings.runners?.warm ? { warm: settings.runners.warm as number } : {}),
        hugeHeap: settings.runners?.qemuHeap !== "plain",
        maxOps: settings.maxOps,
        ...settings.bounds,
        outDir: settings.outDir,
        baseName: base.name,
        signal,
        onProgress: (done) => bar?.update(done, slice, "QEMU loads"),
        ...(shard ? { shard } : {}),
        ...(settings.oracle ? { oracle: settings.oracle } : {}),
      })
    );
  } finally {
    bar?.done();
  }
  const status = r.cancelled ? EXIT_INTERRUPTED : r.bugs ? 1 : 0;
  if (settings.json) {
    ctx.io.out(JSON.stringify({
      target: "qemu",
      argv,
      ...r,
      ...(shard ? { shard: `${shard.k}/${shard.n}` } : {}),
      reports: r.reports.map((x) => ({ ...x, ops: x.ops.map(opWord) })),
    }));
    return status;
  }
  const rows = QEMU_CLASSES.map((c) => [
    c,
    r.counts[c],
    `${((100 * r.counts[c]) / Math.max(1, r.casesRun)).toFixed(1)}%`,
    QEMU_CLASS_MEANING[c],
  ]);
  for (const line of renderTable(["class", "cases", "share", "meaning"], rows).split("\n")) {
    ctx.io.out(line);
  }
  if (r.cancelled) {
    ctx.io.out(
      `fuzz: cancelled (Ctrl-C) after ${r.casesRun} of ${slice} cases: the table counts those; ` +
        "findings below are as seen, not confirmed or shrunk, and nothing was saved",
    );
  }
  ctx.io.out(
    `fuzz: ${r.casesRun} QEMU loads of ${base.name} (seed ${r.seed}` +
      `${shard ? `, shard ${shard.k}/${shard.n} of ${settings.iterations}` : ""}) in ` +
      `${r.seconds.toFixed(1)} s: ${r.runsPerSecond.toFixed(2)} runs/s on ${r.lanes} ` +
      `lane${r.lanes === 1 ? "" : "s"} (a QEMU start takes ${Math.round(r.startMs)} ms, ` +
      "overlapped with earlier cases)",
  );
  if (r.safetyNet) {
    ctx.io.out(
      `fuzz: ${r.safetyNet} cases were ended by the wall-clock safety net before the guest's ` +
        "progress decided them (a starved host): their class is what was seen by then",
    );
  }
  if (r.spinning) {
    ctx.io.out(
      `fuzz: ${r.spinning} of those spun: QEMU's vCPU kept using CPU time while the guest ` +
        "executed nothing (a QEMU livelock)",
    );
  }
  const texts = Object.entries(r.rejections).sort((a, b) => b[1] - a[1]);
  if (texts.length) {
    ctx.io.out(`fuzz: ${texts.length} distinct rejection texts; the most frequent:`);
    for (const [t, n] of texts.slice(0, 8)) ctx.io.out(`  ${String(n).padStart(6)}  ${t}`);
  }
  if (!r.cancelled) ctx.io.out(`fuzz: results in ${settings.outDir}/campaign.json`);
  if (!r.reports.length) {
    ctx.io.out("fuzz: no crashes, hangs or disagreements");
    return status;
  }
  ctx.io.out(`fuzz: ${r.bugs} finding cases, ${r.reports.length} distinct:`);
  for (const x of r.reports) {
    ctx.io.out(
      `  ${describeQemuOutcome(x as QemuOutcome)} [case ${x.index}, ${x.occurrences} like it${
        x.confirmed ? "" : ", NOT reproduced on a new QEMU"
      }]`,
    );
    ctx.io.out(`    recipe: ${x.ops.map(opWord).join(" ")}`);
    if (x.file) ctx.io.out(`    saved: ${x.file} (+ ${x.recipeFile})`);
    if (x.reproduce) ctx.io.out(`    reproduce: ${x.reproduce}`);
  }
  return status;
}
