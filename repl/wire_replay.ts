/**
 * `replay FILE --to tcp:HOST:PORT [--rate R] [--chunk N] [--cut-at POS] [--stall-at POS:MS]
 * [--recipe R]`: stream a recorded migration (corrupted first by a recipe, if given) into a
 * destination that runs `incoming`, with wire faults. replay_command.ts hands `--to` here; the
 * work is in harness/wire.
 * @module
 */
import { CorruptOpError, readRecipe } from "../migration/corrupt/mod.ts";
import { FaultSpecError } from "../harness/wire/errors.ts";
import { type FaultEvent, formatEvent } from "../harness/wire/fault_engine.ts";
import { type Fault, parseFault } from "../harness/wire/fault_spec.ts";
import { applyRecipeToBytes } from "../harness/wire/recipe_bytes.ts";
import { notLoadedError, reportJson, summaryLines } from "../harness/wire/report.ts";
import { replayTo } from "../harness/wire/replay_to.ts";
import { MigrationUriError, parseMigrationUri } from "../harness/migration/uri.ts";
import type { ShellContext } from "./session.ts";
import { secondsType } from "./commands/arg_types.ts";
import { type OptionDef, UsageError } from "./commands/types.ts";

/** The options `--to` brings to `replay`. */
export const replayToOptions: OptionDef<ShellContext>[] = [
  {
    flags: "--to <uri>",
    description: "stream FILE into a destination running incoming (tcp:HOST:PORT) instead of " +
      "comparing; exit 0 only when it loads",
  },
  { flags: "--rate <bytes/s>", description: "with --to: pace to this rate (K/M/G suffixes)" },
  { flags: "--chunk <n>", description: "with --to: write at most n bytes at a time" },
  {
    flags: "--cut-at <pos>",
    description: "with --to: close the connection at POS (offset, ram@part+N, serial+3, " +
      "FIELD, eof+N, vmdesc+N)",
  },
  { flags: "--stall-at <pos:ms>", description: "with --to: send nothing for MS ms at POS" },
  { flags: "--recipe <file>", description: "with --to: corrupt FILE by this recipe first" },
  {
    flags: "--connect-timeout <s>",
    description: "with --to: wait this long for the destination to listen (default 10)",
    type: secondsType,
  },
  {
    flags: "--verdict-timeout <s>",
    description: "with --to: wait this long for its verdict (default 60)",
    type: secondsType,
  },
];

/** Fault words and spec errors are the user's: usage errors (exit 2). */
function usage(e: unknown): never {
  if (e instanceof FaultSpecError) throw new UsageError(e.message);
  if (e instanceof CorruptOpError && e.code !== "recipe") throw new UsageError(e.message);
  throw e;
}

/** The faults the options describe. */
export function replayFaults(opts: Record<string, unknown>): Fault[] {
  const words: string[] = [];
  if (opts.rate !== undefined) words.push(`throttle:${opts.rate}`);
  if (opts.chunk !== undefined) words.push(`chunk:${opts.chunk}`);
  if (opts.stallAt !== undefined) words.push(`stall:${opts.stallAt}`);
  if (opts.cutAt !== undefined) words.push(`cut:${opts.cutAt}`);
  try {
    return words.map(parseFault);
  } catch (e) {
    return usage(e);
  }
}

/** Run `replay FILE --to URI ...` on an already-read stream. */
export async function runReplayTo(
  ctx: ShellContext,
  stream: { bytes: Uint8Array; name: string },
  opts: Record<string, unknown>,
): Promise<number> {
  if (opts.against !== undefined) throw new UsageError("Use either --to or --against");
  let host: string;
  let port: number;
  try {
    const uri = parseMigrationUri(String(opts.to));
    if (uri.kind !== "tcp") throw new UsageError("--to takes tcp:HOST:PORT");
    ({ host, port } = uri);
  } catch (e) {
    if (e instanceof MigrationUriError) throw new UsageError(e.message);
    throw e;
  }
  const faults = replayFaults(opts);
  let bytes = stream.bytes;
  if (opts.recipe !== undefined) {
    bytes = await applyRecipeToBytes(bytes, await readRecipe(String(opts.recipe)).catch(usage))
      .catch(usage);
  }
  const json = Boolean(opts.json);
  const report = await replayTo(bytes, host, port, {
    faults,
    connectTimeoutMs: (opts.connectTimeout as number | undefined) ?? 10_000,
    verdictTimeoutMs: (opts.verdictTimeout as number | undefined) ?? 60_000,
    onConnected: (where) => {
      if (!json) ctx.io.out(`replay: sending ${stream.name} (${bytes.length} bytes) to ${where}`);
    },
    onEvent: (e: FaultEvent) => {
      if (!json) ctx.io.out(`replay: ${formatEvent(e)}`);
    },
  }).catch(usage);
  if (json) {
    ctx.io.out(JSON.stringify(reportJson(report.engine, report.verdict, {
      target: report.target,
      stream: stream.name,
      streamBytes: report.streamBytes,
      seconds: report.seconds,
    })));
  } else {
    const lines = summaryLines(report.engine, report.verdict, report.target);
    lines[lines.length - 1] += ` (${report.seconds.toFixed(3)} s)`;
    for (const line of lines) ctx.io.out(`replay: ${line}`);
  }
  if (report.verdict.outcome === "loaded") return 0;
  throw notLoadedError(report.engine, report.verdict, report.target);
}
