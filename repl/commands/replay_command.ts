/**
 * `replay FILE [--insns N] [--against REF]`: load a snapshot into a fresh machine, run it, and
 * compare it with its source machine's own continuation (the current machine, when FILE is a
 * snapshot of it as it is now) or with another snapshot. The work is in harness/replay.
 * `--to tcp:HOST:PORT` streams FILE into a live destination instead (wire_replay_command.ts).
 * @module
 */
import {
  DEFAULT_CHECKPOINTS,
  renderReplay,
  replay,
  type ReplayReference,
} from "../../harness/replay/replay.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type { ShellContext } from "../session.ts";
import { EXIT_INTERRUPTED } from "../machine_text.ts";
import { progressOf } from "../progress.ts";
import { readStreamArg } from "../snapshot_io.ts";
import { replayFaults, replayToOptions, runReplayTo } from "../wire_replay.ts";
import { countType, positiveCountType } from "./arg_types.ts";
import { type CommandDef, UsageError } from "./types.ts";
import {
  qemuArgv,
  qemuRunOptions,
  runOneQemu,
  runOneQemuWire,
  targetOption,
} from "./qemu_target.ts";
import { corruptBytes, readRecipe } from "../../migration/corrupt/mod.ts";

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `bytes` is exactly what saving the (stopped) current machine writes now. */
async function isSnapshotOfCurrent(ctx: ShellContext, bytes: Uint8Array): Promise<boolean> {
  if (ctx.session.active) return false;
  const w = new StreamWriter();
  await ctx.session.machine.save(w);
  return equalBytes(w.take(), bytes);
}

/** `replay FILE --target qemu [--recipe R] -- QEMU ARGS`: FILE into a fresh QEMU, its verdict. */
async function replayIntoQemu(
  ctx: ShellContext,
  file: string,
  words: readonly unknown[],
  opts: Record<string, unknown>,
): Promise<number> {
  const argv = qemuArgv(words, "replay");
  if (opts.to !== undefined) {
    throw new UsageError(
      "replay --target qemu starts its own QEMU (waiting on a loopback tcp: port): leave out --to",
    );
  }
  const faults = replayFaults(opts);
  const snap = await readStreamArg(ctx, file);
  let bytes = snap.bytes;
  if (opts.recipe !== undefined) {
    const recipe = await readRecipe(String(opts.recipe));
    bytes = await corruptBytes(bytes, recipe.ops);
  }
  if (faults.length) {
    return await runOneQemuWire(ctx, `replay: ${snap.name}`, bytes, argv, faults, opts);
  }
  return await runOneQemu(ctx, `replay: ${snap.name}`, bytes, argv, opts);
}

/** The replay command definition. */
export const replayCommand: CommandDef<ShellContext> = {
  name: "replay",
  summary: "Load a snapshot into a fresh machine, run it and compare with its source or another",
  args: [
    { name: "file", description: "snapshot file (or stored snapshot name)" },
    {
      name: "qemu",
      optional: true,
      variadic: true,
      description: "with --target qemu: the QEMU command line, after --",
    },
  ],
  options: [
    {
      flags: "--insns <n>",
      description: "instructions each side retires",
      default: "1000000",
      type: countType,
    },
    {
      flags: "--against <ref>",
      description: "compare with this snapshot (default: the current machine when FILE is a " +
        "snapshot of it as it is now, its own continuation; else FILE loaded a second time, a " +
        "determinism check)",
    },
    {
      flags: "--checkpoints <k>",
      description: "comparison points before bisecting",
      default: String(DEFAULT_CHECKPOINTS),
      type: positiveCountType,
    },
    { flags: "--json", description: "print the report as one JSON object" },
    ...replayToOptions,
    {
      ...targetOption,
      description: "snapshell (default) or qemu: stream FILE (corrupted by --recipe first, if " +
        "given) into a fresh QEMU started with the arguments after --, and report its verdict",
    },
    ...qemuRunOptions,
  ],
  examples: [
    "snapshot /tmp/a.snap --insns 500000",
    "replay /tmp/a.snap --against /tmp/b.snap --insns 2M",
    "replay /tmp/a.snap --to tcp:127.0.0.1:4444 --rate 1M --cut-at ram@part+4096",
  ],
  async run(ctx, args, opts): Promise<number> {
    const file = args[0] as string;
    if (opts.target === "qemu") return await replayIntoQemu(ctx, file, args.slice(1), opts);
    if (args.length > 1) {
      throw new UsageError("replay takes one FILE (QEMU arguments need --target qemu)");
    }
    if (opts.to !== undefined) {
      return await runReplayTo(ctx, await readStreamArg(ctx, file), opts);
    }
    const insns = opts.insns as number;
    const checkpoints = opts.checkpoints as number;
    const snap = await readStreamArg(ctx, file);
    let reference: ReplayReference;
    let refName: string;
    if (opts.against !== undefined) {
      const ref = await readStreamArg(ctx, String(opts.against));
      reference = { kind: "snapshot", bytes: ref.bytes, name: ref.name };
      refName = ref.name;
    } else if (await isSnapshotOfCurrent(ctx, snap.bytes)) {
      reference = { kind: "machine", machine: ctx.session.machine, name: "the current machine" };
      refName = "the source machine";
    } else {
      reference = { kind: "snapshot", bytes: snap.bytes, name: snap.name };
      refName = `${snap.name} loaded again (a determinism check; --against REF compares ` +
        "with another)";
    }
    const bar = progressOf(ctx)("replay", insns, "count");
    let report;
    try {
      report = await ctx.session.cancellable((signal) =>
        replay(snap.bytes, reference, {
          insns,
          checkpoints,
          signal,
          onProgress: (done) => bar.update(done, insns, "instructions compared"),
        })
      );
    } finally {
      bar.done();
    }
    if (opts.json) {
      const cut = (s: string) => s.length > 4096 ? s.slice(0, 4096) + "..." : s;
      ctx.io.out(JSON.stringify({
        ...report,
        reference: refName,
        console: {
          ...report.console,
          reference: cut(report.console.reference),
          replay: cut(report.console.replay),
        },
      }));
    } else for (const line of renderReplay(report, refName)) ctx.io.out(line);
    if (report.cancelled) return EXIT_INTERRUPTED;
    return report.identical ? 0 : 1;
  },
};
