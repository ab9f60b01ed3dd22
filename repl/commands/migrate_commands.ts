/**
 * Live migration from the shell: `migrate URI` (precopy to file:, exec: or tcp:),
 * `migrate-status`, `migrate-set-parameters` and `incoming URI` (receive into a fresh machine
 * that replaces the current one once the load is accepted). They parse words and print; the
 * migration itself lives in harness/migration.
 * @module
 */
import { ConfigError } from "../../emu/errors.ts";
import type { VirtMachine } from "../../emu/virt.ts";
import { receiveMigration } from "../../harness/migration/incoming.ts";
import {
  checkParameters,
  DEFAULT_PARAMETERS,
  MigrationParameterError,
  type MigrationParameters,
  type NoConvergencePolicy,
} from "../../harness/migration/params.ts";
import { MigrationCancelledError } from "../../harness/migration/cancel.ts";
import {
  initialStatus,
  type MigrationStatus,
  precopy,
  type PrecopyProgress,
  type RoundReport,
} from "../../harness/migration/precopy.ts";
import { openOutgoing } from "../../harness/migration/transport.ts";
import {
  type MigrationUri,
  MigrationUriError,
  parseMigrationUri,
} from "../../harness/migration/uri.ts";
import { progressOf } from "../progress.ts";
import { remainingGoal, type Session, type ShellContext } from "../session.ts";
import { EXIT_INTERRUPTED } from "./run_commands.ts";
import { parseCount, parseSize } from "./sizes.ts";
import { type CommandDef, type OptionDef, UsageError } from "./types.ts";

/** Migration state kept per session: parameters and the last migration's status. */
interface SessionMigration {
  parameters: MigrationParameters;
  last?: MigrationStatus;
}

const perSession = new WeakMap<Session, SessionMigration>();

/** The migration parameters and last status of `session`. */
export function migrationOf(session: Session): SessionMigration {
  let s = perSession.get(session);
  if (!s) {
    s = { parameters: { ...DEFAULT_PARAMETERS } };
    perSession.set(session, s);
  }
  return s;
}

function uriArg(text: string): MigrationUri {
  try {
    return parseMigrationUri(text);
  } catch (e) {
    if (e instanceof MigrationUriError) throw new UsageError(e.message);
    throw e;
  }
}

/** The parameter options `migrate` and `migrate-set-parameters` share. */
const parameterOptions: OptionDef<ShellContext>[] = [
  {
    flags: "--max-bandwidth <rate>",
    description: "bytes per second on the wire, K/M/G suffixes (QEMU default 128M)",
  },
  { flags: "--downtime-limit <ms>", description: "longest stop-and-copy in ms (default 300)" },
  {
    flags: "--max-rounds <n>",
    description: "dirty rounds after the first pass before giving up or forcing (default 30)",
  },
];

/** Parameters with the options' overrides applied and checked. */
function withOverrides(
  base: MigrationParameters,
  opts: Record<string, unknown>,
): MigrationParameters {
  const p = { ...base };
  if (opts.maxBandwidth !== undefined) {
    p.maxBandwidth = parseSize(String(opts.maxBandwidth), "--max-bandwidth");
  }
  if (opts.downtimeLimit !== undefined) {
    const t = String(opts.downtimeLimit);
    if (!/^\d+(\.\d+)?$/.test(t)) throw new UsageError(`Invalid --downtime-limit "${t}" (ms)`);
    p.downtimeLimitMs = Number(t);
  }
  if (opts.maxRounds !== undefined) {
    p.maxRounds = parseCount(String(opts.maxRounds), "--max-rounds");
  }
  if (opts.onNoConvergence !== undefined) {
    p.onNoConvergence = String(opts.onNoConvergence) as NoConvergencePolicy;
  }
  if (opts.force && opts.giveUp) throw new UsageError("Use either --force or --give-up");
  if (opts.force) p.onNoConvergence = "force";
  if (opts.giveUp) p.onNoConvergence = "give-up";
  try {
    return checkParameters(p);
  } catch (e) {
    if (e instanceof MigrationParameterError) throw new UsageError(e.message);
    throw e;
  }
}

function kib(bytes: number): string {
  return bytes >= 1 << 20
    ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One line per precopy round. */
export function formatRound(r: RoundReport): string {
  return `round ${r.round}${r.round === 0 ? " (full pass)" : ""}: ${
    r.normalPages + r.zeroPages
  } pages (${r.normalPages} normal, ${r.zeroPages} zero), ${
    kib(r.bytes)
  }; guest ran ${r.guestInsns} insns, dirtied ${r.dirtiedPages} pages (${
    Math.round(r.dirtyRatePagesPerSecond)
  } pages/s); ${r.pendingPages} pending, expected downtime ${r.expectedDowntimeMs.toFixed(1)} ms`;
}

/** `migrate-status` text: QEMU's `info migrate` figures plus ours. */
export function formatStatus(s: MigrationStatus): string[] {
  const p = s.parameters;
  const lines = [
    `Migration status: ${s.state}${
      s.state !== "cancelled" ? "" : s.interrupted ? " (interrupted)" : " (gave up)"
    }`,
    `uri: ${s.uri}`,
    `rounds: ${s.rounds.length}, converged: ${s.converged ? "yes" : "no"}${
      s.forced ? " (switch-over forced)" : ""
    }`,
    `transferred: ${s.bytes} bytes, normal: ${s.normalPages} pages, zero: ${s.zeroPages} pages`,
    `total ram: ${s.ramBytes} bytes`,
    `dirty rate: ${Math.round(s.dirtyRatePagesPerSecond)} pages/s (virtual time)`,
    `expected downtime: ${s.expectedDowntimeMs.toFixed(1)} ms (limit ${p.downtimeLimitMs} ms)`,
  ];
  if (s.downtimeMs !== null) {
    lines.push(
      `downtime: ${s.downtimeMs.toFixed(1)} ms at ${p.maxBandwidth} bytes/s (wall ${
        s.downtimeWallMs!.toFixed(1)
      } ms)`,
    );
  }
  lines.push(
    `guest ran: ${s.guestInsns} instructions during the migration` +
      (s.switchoverInstret !== null ? `, switched over at instret ${s.switchoverInstret}` : ""),
    `total time: ${s.virtualSeconds.toFixed(3)} s at the bandwidth limit, ${
      s.wallSeconds.toFixed(3)
    } s wall`,
  );
  if (s.reason) lines.push(`reason: ${s.reason}`);
  return lines;
}

/** The note after a migration's progress figures: round, bytes so far, dirty rate. */
export function progressNote(p: PrecopyProgress): string {
  const what = p.phase === "completing" ? "stop-and-copy" : `round ${p.round}`;
  return `pages, ${what}, ${kib(p.bytes)} sent, dirty ${
    Math.round(p.dirtyRatePagesPerSecond)
  } pages/s${p.phase === "running" ? ", guest running" : ""}`;
}

/** The status of a migration cancelled while its transport was still opening. */
function cancelledBeforeStart(uri: string, params: MigrationParameters): MigrationStatus {
  return {
    ...initialStatus(uri, params),
    state: "cancelled",
    interrupted: true,
    reason: "cancelled before the transport was open",
  };
}

function statusJson(s: MigrationStatus): string {
  return JSON.stringify({ ...s, error: s.error?.toJSON() });
}

/** `migrate URI`: precopy the current machine to another place, the guest running meanwhile. */
export const migrateCommand: CommandDef<ShellContext> = {
  name: "migrate",
  summary: "Live-migrate the current machine to file:PATH, exec:CMD or tcp:HOST:PORT (precopy)",
  args: [{ name: "uri", description: "file:PATH | exec:COMMAND | tcp:HOST:PORT" }],
  options: [
    ...parameterOptions,
    { flags: "--force", description: "switch over even when precopy does not converge" },
    {
      flags: "--give-up",
      description: "give up when precopy does not converge (default): the guest keeps running here",
    },
    { flags: "--json", description: "print the final status as one JSON object" },
  ],
  examples: [
    "migrate tcp:127.0.0.1:4444",
    'migrate "exec:gzip > vm.gz" --max-bandwidth 1G',
    "migrate file:vm.qemu --downtime-limit 50 --max-rounds 10 --force",
  ],
  async run(ctx, args, opts): Promise<number> {
    const uri = uriArg(args[0]);
    const mig = migrationOf(ctx.session);
    const params = withOverrides(mig.parameters, opts);
    const session = ctx.session;
    const active = session.active;
    if (active && !active.background) {
      throw new UsageError("The guest is running in the foreground: wait for it or press Ctrl-C");
    }
    const stopped = active ? await session.stopRun() : undefined;
    const machine = session.machine;
    const pages = Math.ceil(machine.ram.size / machine.ramSection.pageSize);
    const bar = progressOf(ctx)("migrate", pages, "count");
    let status: MigrationStatus | undefined;
    try {
      status = await session.cancellable(async (signal) => {
        const out = await openOutgoing(uri, { maxBandwidth: params.maxBandwidth, signal })
          .catch((e) => {
            if (e instanceof MigrationCancelledError) return undefined;
            throw e;
          });
        if (!out) return cancelledBeforeStart(args[0], params);
        return await precopy(machine, out, args[0], params, {
          signal,
          onRound: (r) => {
            if (!opts.json) ctx.io.out(formatRound(r));
          },
          onProgress: (p) => bar.update(p.pagesSent, p.pagesTotal, progressNote(p)),
        });
      });
      mig.last = status;
    } finally {
      bar.done();
      if (status?.state !== "completed" && active && stopped && session.machine === machine) {
        // The source keeps running: resume the background run it had.
        const rest = remainingGoal(active.goal, stopped.cycles);
        if (rest) session.startRun(rest, true, active.paced);
      }
    }
    if (opts.json) ctx.io.out(statusJson(status));
    if (status.state === "completed") {
      if (!opts.json) {
        ctx.io.out(
          `migrate: completed to ${args[0]}: ${status.bytes} bytes in ${status.rounds.length} ${
            status.rounds.length === 1 ? "round" : "rounds"
          }, downtime ${status.downtimeMs!.toFixed(1)} ms (limit ${params.downtimeLimitMs} ms)${
            status.forced ? ", switch-over forced without converging" : ""
          }; the guest now runs there, this copy stays stopped`,
        );
      }
      return 0;
    }
    if (status.interrupted) {
      ctx.io.err(
        `migrate: cancelled (${status.reason}); the transport was dropped and the guest keeps ` +
          "running here",
      );
      return EXIT_INTERRUPTED;
    }
    if (status.state === "cancelled") {
      ctx.io.err(`migrate: gave up: ${status.reason}; the guest keeps running here`);
      return 1;
    }
    ctx.io.err(`migrate: failed, the guest keeps running here`);
    throw status.error!;
  },
};

/** `migrate-status`: the last migration's figures. */
export const migrateStatusCommand: CommandDef<ShellContext> = {
  name: "migrate-status",
  summary: "Show the last migration's status (QEMU's info migrate)",
  options: [{ flags: "--json", description: "print it as one JSON object" }],
  run(ctx, _args, opts): Promise<number> {
    const last = migrationOf(ctx.session).last;
    if (!last) {
      if (opts.json) ctx.io.out(JSON.stringify({ state: "none" }));
      else ctx.io.out("Migration status: none (no migration yet)");
      return Promise.resolve(0);
    }
    if (opts.json) ctx.io.out(statusJson(last));
    else for (const line of formatStatus(last)) ctx.io.out(line);
    return Promise.resolve(0);
  },
};

/** `migrate-set-parameters`: change the session's migration parameters (or show them). */
export const migrateSetParametersCommand: CommandDef<ShellContext> = {
  name: "migrate-set-parameters",
  summary: "Set max-bandwidth, downtime-limit, max-rounds, on-no-convergence (no option: show)",
  options: [
    ...parameterOptions,
    { flags: "--on-no-convergence <policy>", description: "give-up (default) or force" },
    { flags: "--json", description: "print the parameters as one JSON object" },
  ],
  run(ctx, _args, opts): Promise<number> {
    const mig = migrationOf(ctx.session);
    mig.parameters = withOverrides(mig.parameters, opts);
    const p = mig.parameters;
    if (opts.json) {
      ctx.io.out(JSON.stringify(p));
    } else {
      ctx.io.out(`max-bandwidth: ${p.maxBandwidth} bytes/second`);
      ctx.io.out(`downtime-limit: ${p.downtimeLimitMs} ms`);
      ctx.io.out(`max-rounds: ${p.maxRounds}`);
      ctx.io.out(`on-no-convergence: ${p.onNoConvergence}`);
    }
    return Promise.resolve(0);
  },
};

/** `incoming URI`: receive a migration into a fresh machine that then becomes the current one. */
export const incomingCommand: CommandDef<ShellContext> = {
  name: "incoming",
  summary: "Receive a migration (file:, exec: or tcp:) into a fresh machine, then make it current",
  args: [{ name: "uri", description: "file:PATH | exec:COMMAND | tcp:HOST:PORT (port 0: any)" }],
  options: [
    {
      flags: "--timeout <s>",
      description: "give up when no connection or no data comes for this many seconds",
    },
    {
      flags: "--idle-timeout <s>",
      description: "give up when the stream stops for this many seconds (default: --timeout)",
    },
    { flags: "--ram <size>", description: "guest RAM (default: the size the stream announces)" },
    {
      flags: "--prealloc",
      description:
        "make the destination and map all its RAM before the stream arrives (QEMU's -mem-prealloc); RAM size: --ram, else the current machine's",
    },
    { flags: "--run <n>", description: "then run the guest for n instructions (Ctrl-C stops it)" },
    { flags: "--json", description: "print the outcome (and console output of --run) as JSON" },
  ],
  examples: [
    "incoming tcp:127.0.0.1:4444 --timeout 60",
    "incoming tcp:127.0.0.1:4444 --timeout 60 --idle-timeout 2",
    "incoming tcp:127.0.0.1:4444 --ram 256M --prealloc",
    'incoming "exec:gunzip -c vm.gz"',
  ],
  async run(ctx, args, opts): Promise<number> {
    const uri = uriArg(args[0]);
    const seconds = (flag: string, v: unknown): number | undefined => {
      if (v === undefined) return undefined;
      const t = String(v);
      if (!/^\d+(\.\d+)?$/.test(t) || Number(t) <= 0) {
        throw new UsageError(`Invalid ${flag} "${t}" (seconds)`);
      }
      return Number(t) * 1000;
    };
    const timeoutMs = seconds("--timeout", opts.timeout);
    const idleTimeoutMs = seconds("--idle-timeout", opts.idleTimeout);
    const ramOverride = opts.ram === undefined ? undefined : parseSize(String(opts.ram), "--ram");
    const runInsns = opts.run === undefined ? undefined : parseCount(String(opts.run), "--run");
    const session = ctx.session;
    session.requireStopped("receive a migration");
    // Preallocation happens before the listener opens, so it never delays a waiting source.
    const prepared = opts.prealloc
      ? preallocatedMachine(session, ramOverride ?? session.machine.ram.size)
      : undefined;
    const bar = progressOf(ctx)("incoming", ramOverride ?? session.machine.ram.size);
    let result;
    try {
      result = await session.cancellable((signal) =>
        receiveMigration(uri, prepared ?? ((ram) => makeMachine(session, ramOverride ?? ram)), {
          timeoutMs,
          idleTimeoutMs,
          signal,
          onListening: (where) => ctx.io.out(`incoming: listening on ${where}`),
          onProgress: (bytes, total) => bar.update(bytes, total),
        })
      );
    } catch (e) {
      if (!(e instanceof MigrationCancelledError)) throw e;
      ctx.io.err("incoming: cancelled; nothing was loaded and the current machine is unchanged");
      return EXIT_INTERRUPTED;
    } finally {
      bar.done();
    }
    session.install(result.machine);
    const m = result.machine;
    const loaded =
      `incoming: loaded ${result.report.bytes} bytes (${result.report.sections.length} sections) from ${result.uri} in ${
        result.seconds.toFixed(3)
      } s; guest at instret ${m.cpu.instret}`;
    let consoleOut = "";
    let ran: number | undefined;
    let interrupted = false;
    if (runInsns !== undefined) {
      // A session run like `run N`: Ctrl-C stops it (the loaded machine stays installed).
      const before = m.consoleText.length;
      const outcome = await session.startRun({ kind: "cycles", count: runInsns }, false).run.done;
      ran = outcome.cycles;
      interrupted = outcome.end === "interrupted";
      consoleOut = m.consoleText.slice(before);
    }
    if (opts.json) {
      ctx.io.out(JSON.stringify({
        ok: true,
        uri: result.uri,
        bytes: result.report.bytes,
        sections: result.report.sections.length,
        ramBytes: m.ram.size,
        seconds: result.seconds,
        instret: m.cpu.instret,
        ran: ran ?? null,
        interrupted,
        console: consoleOut,
      }));
      return interrupted ? EXIT_INTERRUPTED : 0;
    }
    ctx.io.out(loaded);
    if (runInsns !== undefined) {
      if (consoleOut && !session.echo) {
        (ctx.io.raw ?? ((b: Uint8Array) => Deno.stdout.writeSync(b)))(
          new TextEncoder().encode(consoleOut),
        );
        if (!consoleOut.endsWith("\n")) ctx.io.out("");
      }
      if (interrupted) {
        ctx.io.err(
          `incoming: run interrupted after ${ran} instructions; guest at instret ${m.cpu.instret}`,
        );
        return EXIT_INTERRUPTED;
      }
      ctx.io.out(`incoming: ran ${ran} instructions; guest at instret ${m.cpu.instret}`);
    }
    return 0;
  },
};

/** A fresh machine for a stream announcing `ramBytes` (the session's size when unusable). */
function makeMachine(session: Session, ramBytes: number | undefined): VirtMachine {
  try {
    return session.freshMachine(ramBytes === undefined ? {} : { ramSize: ramBytes });
  } catch (e) {
    // A size this emulator cannot build: load into the default size, and let the loader say
    // precisely how the stream does not fit.
    if (e instanceof ConfigError) return session.freshMachine();
    throw e;
  }
}

/** A fresh machine of `ramBytes` whose RAM is already mapped (`incoming --prealloc`). */
function preallocatedMachine(session: Session, ramBytes: number): VirtMachine {
  const m = session.freshMachine({ ramSize: ramBytes });
  m.ram.prefault();
  return m;
}

/** Every migration command, for repl/commands/mod.ts. */
export const migrateCommands: CommandDef<ShellContext>[] = [
  migrateCommand,
  migrateStatusCommand,
  migrateSetParametersCommand,
  incomingCommand,
];
