/**
 * `replay FILE [--insns N] [--against REF]`: load a snapshot into a fresh machine, run it, and
 * compare it with its source machine's own continuation (the current machine, when FILE is a
 * snapshot of it as it is now) or with another snapshot. The work is in harness/replay.
 * `--to tcp:HOST:PORT` streams FILE into a live destination instead (wire_replay_command.ts).
 * @module
 */
import { renderReplay, replay, type ReplayReference } from "../../harness/replay/replay.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type { ShellContext } from "../session.ts";
import { parseCount } from "./sizes.ts";
import { type CommandDef, UsageError } from "./types.ts";
import { replayToOptions, runReplayTo } from "./wire_replay_command.ts";

/** Read a stream by file path, or by snapshot name from the session's store. */
export async function readStreamArg(
  ctx: ShellContext,
  word: string,
): Promise<{ bytes: Uint8Array; name: string }> {
  try {
    return { bytes: await Deno.readFile(word), name: word };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const store = ctx.session.store;
    const stored = await store?.has(word).catch(() => false); // not even a valid name
    if (store && stored) {
      const meta = await store.get(word);
      return { bytes: await Deno.readFile(store.streamPath(meta)), name: `snapshot "${word}"` };
    }
    throw new UsageError(`No file or stored snapshot "${word}"`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The replay command definition. */
export const replayCommand: CommandDef<ShellContext> = {
  name: "replay",
  summary: "Load a snapshot into a fresh machine, run it and compare with its source or another",
  args: [{ name: "file", description: "snapshot file (or stored snapshot name)" }],
  options: [
    { flags: "--insns <n>", description: "instructions to run both sides", default: "1000000" },
    {
      flags: "--against <ref>",
      description: "compare with this snapshot (default: the current machine, when FILE is a " +
        "snapshot of it as it is now: its own continuation)",
    },
    {
      flags: "--checkpoints <k>",
      description: "comparison points before bisecting",
      default: "16",
    },
    { flags: "--json", description: "print the report as one JSON object" },
    ...replayToOptions,
  ],
  examples: [
    "snapshot /tmp/a.snap --insns 500000",
    "replay /tmp/a.snap --against /tmp/b.snap --insns 2M",
    "replay /tmp/a.snap --to tcp:127.0.0.1:4444 --rate 1M --cut-at ram@part+4096",
  ],
  async run(ctx, args, opts): Promise<number> {
    if (opts.to !== undefined) {
      return await runReplayTo(ctx, await readStreamArg(ctx, args[0]), opts);
    }
    const insns = parseCount(String(opts.insns), "--insns");
    const checkpoints = parseCount(String(opts.checkpoints), "--checkpoints");
    if (checkpoints < 1) throw new UsageError("--checkpoints must be at least 1");
    const snap = await readStreamArg(ctx, args[0]);
    let reference: ReplayReference;
    let refName: string;
    if (opts.against !== undefined) {
      const ref = await readStreamArg(ctx, String(opts.against));
      reference = { kind: "snapshot", bytes: ref.bytes, name: ref.name };
      refName = ref.name;
    } else {
      const m = ctx.session.machine;
      ctx.session.requireStopped?.("replay against the current machine");
      const w = new StreamWriter();
      await m.save(w);
      if (!equalBytes(w.take(), snap.bytes)) {
        throw new UsageError(
          `${snap.name} is not a snapshot of the current machine as it is now (it has changed ` +
            `or is another machine): give --against REF`,
        );
      }
      reference = { kind: "machine", machine: m, name: "the current machine" };
      refName = "the source machine";
    }
    const report = await replay(snap.bytes, reference, { insns, checkpoints });
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
    return report.identical ? 0 : 1;
  },
};
