/**
 * Live migration from the shell, with QEMU's words: `migrate URI` (precopy to file:, exec: or
 * tcp:; `-d` detaches it, as QEMU's `migrate -d`, and the prompt comes back), `migrate-status`,
 * `migrate-set-parameters` (applied to a migration in flight at its next round) and
 * `migrate-cancel`, `migrate-start-postcopy` (postcopy-ram: the destination runs from then on and
 * pulls the pages still here). After a completed migration the source stays stopped in
 * postmigrate, and after a postcopy that failed too (the guest is lost on both sides). They
 * parse words and print; the migration itself lives in harness/migration.
 * @module
 */
import {
  checkParameters,
  DEFAULT_PARAMETERS,
  MigrationParameterError,
  type MigrationParameters,
  type NoConvergencePolicy,
} from "../../harness/migration/params.ts";
import { MigrationCancelledError } from "../../harness/migration/cancel.ts";
import {
  type MigrationCapabilities,
  NO_MIGRATION_CAPABILITIES,
} from "../../harness/migration/capabilities.ts";
import { initialStatus, type MigrationStatus, precopy } from "../../harness/migration/precopy.ts";
import { realClock, ThrottledSink } from "../../harness/migration/sinks.ts";
import { openOutgoing } from "../../harness/migration/transport.ts";
import { formatMigrationUri, type MigrationUri } from "../../harness/migration/uri.ts";
import { EXIT_INTERRUPTED } from "../machine_text.ts";
import {
  completedLine,
  formatRound,
  formatStatus,
  progressNote,
  statusJson,
} from "../migration_text.ts";
import { progressOf } from "../progress.ts";
import { remainingGoal, type Session, type ShellContext } from "../session.ts";
import { countType, enumType, migrationUriType, millisecondsType, sizeType } from "./arg_types.ts";
import { type CommandDef, type OptionDef, type OptionValues, UsageError } from "./types.ts";

/** Migration state kept per session: parameters, the last migration's status, a detached one. */
interface SessionMigration {
  parameters: MigrationParameters;
  /** QEMU migration capabilities (`set capability xbzrle on`, `migrate_set_capability`). */
  capabilities: MigrationCapabilities;
  last?: MigrationStatus;
  /** The parameters of the migration in progress (migrate-set-parameters changes them too). */
  current?: MigrationParameters;
  /** The detached migration in progress (`migrate -d`): cancel it, wait for it. */
  detached?: { controller: AbortController; done: Promise<number> };
  /** Set while a migration waits in pre-switchover: migrate-continue calls it. */
  resume?: () => void;
  /** migrate-start-postcopy was given for the migration in progress. */
  startPostcopy?: boolean;
}

const perSession = new WeakMap<Session, SessionMigration>();

/** The migration parameters and last status of `session`. */
export function migrationOf(session: Session): SessionMigration {
  let s = perSession.get(session);
  if (!s) {
    s = { parameters: { ...DEFAULT_PARAMETERS }, capabilities: { ...NO_MIGRATION_CAPABILITIES } };
    perSession.set(session, s);
  }
  return s;
}

/** The parameter options `migrate` and `migrate-set-parameters` share. */
const parameterOptions: OptionDef<ShellContext>[] = [
  {
    flags: "--max-bandwidth <rate>",
    description: "bytes per second on the wire, K/M/G suffixes (QEMU default 128M)",
    type: sizeType,
  },
  {
    flags: "--downtime-limit <ms>",
    description: "longest stop-and-copy in ms, devices included (default 300; 300ms, 1s)",
    type: millisecondsType,
  },
  {
    flags: "--max-rounds <n>",
    description: "dirty rounds after the first pass before giving up or forcing (default 30)",
    type: countType,
  },
  {
    flags: "--xbzrle-cache-size <bytes>",
    description: "XBZRLE page cache, a power of two, K/M/G suffixes (default 64M; xbzrle on)",
    type: sizeType,
  },
  {
    flags: "--cpu-throttle-initial <percent>",
    description: "auto-converge: the first throttle (default 20)",
    type: countType,
  },
  {
    flags: "--cpu-throttle-increment <percent>",
    description: "auto-converge: added while dirtying still outpaces the link (default 10)",
    type: countType,
  },
  {
    flags: "--max-cpu-throttle <percent>",
    description: "auto-converge: the highest throttle (default 99)",
    type: countType,
  },
  {
    flags: "--postcopy-after-rounds <n>",
    description: "postcopy-ram: switch to postcopy after n precopy rounds (default 0: only on " +
      "migrate-start-postcopy)",
    type: countType,
  },
];

/** Parameters with the options' overrides applied and checked. */
function withOverrides(base: MigrationParameters, opts: OptionValues): MigrationParameters {
  const p = { ...base };
  if (opts.maxBandwidth !== undefined) p.maxBandwidth = opts.maxBandwidth as number;
  if (opts.downtimeLimit !== undefined) p.downtimeLimitMs = opts.downtimeLimit as number;
  if (opts.maxRounds !== undefined) p.maxRounds = opts.maxRounds as number;
  if (opts.xbzrleCacheSize !== undefined) p.xbzrleCacheSize = opts.xbzrleCacheSize as number;
  if (opts.cpuThrottleInitial !== undefined) {
    p.cpuThrottleInitial = opts.cpuThrottleInitial as number;
  }
  if (opts.cpuThrottleIncrement !== undefined) {
    p.cpuThrottleIncrement = opts.cpuThrottleIncrement as number;
  }
  if (opts.maxCpuThrottle !== undefined) p.maxCpuThrottle = opts.maxCpuThrottle as number;
  if (opts.postcopyAfterRounds !== undefined) {
    p.postcopyAfterRounds = opts.postcopyAfterRounds as number;
  }
  if (opts.onNoConvergence !== undefined) {
    p.onNoConvergence = opts.onNoConvergence as NoConvergencePolicy;
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

/** The status of a migration cancelled while its transport was still opening. */
function cancelledBeforeStart(
  uri: string,
  params: MigrationParameters,
  caps: MigrationCapabilities,
): MigrationStatus {
  return {
    ...initialStatus(uri, params, caps),
    state: "cancelled",
    interrupted: true,
    reason: "cancelled before the transport was open",
  };
}

/** How a finished migration is reported; returns the exit status (throws a failure's error). */
function report(ctx: ShellContext, status: MigrationStatus, json: boolean): number {
  if (json) ctx.io.out(statusJson(status));
  for (const w of status.warnings) ctx.io.err(`migrate: warning: ${w}`);
  if (status.state === "completed") {
    if (!json) ctx.io.out(completedLine(status));
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
  if (status.guestLost) {
    ctx.io.err(`migrate: failed in postcopy: ${status.reason}`);
    throw status.error!;
  }
  ctx.io.err(`migrate: failed, the guest keeps running here`);
  throw status.error!;
}

/**
 * Run one precopy migration of the session's machine to `uri` under `signal`; the source's
 * background run stops meanwhile and resumes unless the migration completed (postmigrate).
 */
async function migrateOnce(
  ctx: ShellContext,
  uri: MigrationUri,
  params: MigrationParameters,
  signal: AbortSignal,
  opts: { json: boolean; bar: boolean },
): Promise<MigrationStatus> {
  const session = ctx.session;
  const mig = migrationOf(session);
  const text = formatMigrationUri(uri);
  const active = session.active;
  const stopped = active ? await session.stopRun() : undefined;
  const machine = session.machine;
  const pages = Math.ceil(machine.ram.size / machine.ramSection.pageSize);
  const bar = (opts.bar ? progressOf(ctx) : progressOf({}))("migrate", pages, "count");
  let status: MigrationStatus | undefined;
  try {
    const out = await openOutgoing(uri, { signal }).catch((e) => {
      if (e instanceof MigrationCancelledError) return undefined;
      throw e;
    });
    if (!out) {
      status = cancelledBeforeStart(text, params, mig.capabilities);
    } else {
      // Paced here rather than by the transport, so migrate-set-parameters can change the rate.
      const paced = new ThrottledSink(out.sink, params.maxBandwidth, realClock, signal);
      status = await precopy(machine, { ...out, sink: paced }, text, params, {
        signal,
        capabilities: mig.capabilities,
        preSwitchover: () => {
          ctx.io.out(
            "migrate: converged; paused in pre-switchover with the guest stopped: " +
              "migrate-continue pre-switchover completes it, migrate-cancel cancels it",
          );
          return new Promise<void>((resolve) => mig.resume = resolve);
        },
        currentParameters: () => {
          const now = mig.current ?? params;
          paced.setRate(now.maxBandwidth);
          return now;
        },
        onStart: (s) => mig.last = s,
        postcopyRequested: () => mig.startPostcopy === true,
        onRound: (r) => {
          if (!opts.json) ctx.io.out(formatRound(r));
        },
        onProgress: (p) => bar.update(p.pagesSent, p.pagesTotal, progressNote(p)),
      });
    }
    mig.last = status;
    mig.current = undefined;
    mig.resume = undefined;
    if (status.state === "completed") session.postmigrate = { machine, uri: text };
    // A postcopy that failed: the source's RAM is stale, so it must not run (QEMU's failed).
    if (status.guestLost) {
      session.postmigrate = { machine, uri: `${text}, where postcopy failed` };
    }
    return status;
  } finally {
    mig.current = undefined;
    mig.startPostcopy = undefined;
    bar.done();
    if (
      status?.state !== "completed" && !status?.guestLost && active && stopped &&
      session.machine === machine
    ) {
      // The source keeps running: resume the background run it had.
      const rest = remainingGoal(active.goal, stopped.cycles);
      if (rest) session.startRun(rest, true, active.paced);
    }
  }
}

/** `migrate URI`: precopy the current machine to another place, the guest running meanwhile. */
export const migrateCommand: CommandDef<ShellContext> = {
  name: "migrate",
  summary: "Live-migrate the current machine to file:PATH, exec:CMD or tcp:HOST:PORT (precopy)",
  args: [{
    name: "uri",
    description: "file:PATH | exec:COMMAND | tcp:HOST:PORT",
    type: migrationUriType,
  }],
  options: [
    ...parameterOptions,
    { flags: "--force", description: "switch over even when precopy does not converge" },
    {
      flags: "--give-up",
      description: "give up when precopy does not converge (default): the guest keeps running here",
    },
    {
      flags: "-d, --detach",
      description: "shell only: migrate in the background (QEMU's migrate -d); migrate-status, " +
        "migrate-set-parameters and migrate-cancel work meanwhile",
    },
    { flags: "--json", description: "print the final status as one JSON object" },
  ],
  examples: [
    "migrate tcp:127.0.0.1:4444",
    "migrate -d tcp:127.0.0.1:4444 --max-bandwidth 1M   # then migrate-status, migrate-cancel",
    'migrate "exec:gzip > vm.gz" --max-bandwidth 1G',
    "migrate file:vm.qemu --downtime-limit 50 --max-rounds 10 --force",
  ],
  async run(ctx, args, opts): Promise<number> {
    const uri = args[0] as MigrationUri;
    const session = ctx.session;
    const mig = migrationOf(session);
    if (mig.detached) {
      throw new UsageError("A migration is already in progress: migrate-status, migrate-cancel");
    }
    session.requireFree("migrate");
    session.requireRunnable(false);
    if (session.active && !session.active.background) {
      throw new UsageError("The guest is running in the foreground: wait for it or press Ctrl-C");
    }
    const params = withOverrides(mig.parameters, opts);
    const json = !!opts.json;
    if (!opts.detach && mig.capabilities.pauseBeforeSwitchover) {
      throw new UsageError(
        "pause-before-switchover is on: use migrate -d, then migrate-continue pre-switchover",
      );
    }
    mig.current = params; // what migrate-set-parameters changes while it runs
    if (!opts.detach) {
      const status = await session.cancellable((signal) =>
        migrateOnce(ctx, uri, params, signal, { json, bar: true })
      );
      return report(ctx, status, json);
    }
    if (!ctx.interactive) {
      throw new UsageError("migrate -d needs the interactive shell (scripts wait for migrate)");
    }
    const controller = new AbortController();
    session.holder = "a migration is in progress (migrate -d)";
    const done = migrateOnce(ctx, uri, params, controller.signal, { json, bar: false })
      .then((status) => report(ctx, status, json))
      .catch((e) => {
        ctx.io.err(`migrate: ${(e as Error).message}`);
        return 1;
      })
      .finally(() => {
        session.holder = undefined;
        mig.detached = undefined;
      });
    mig.detached = { controller, done };
    ctx.io.out(
      `migrate: started to ${formatMigrationUri(uri)} in the background; migrate-status shows ` +
        "progress, migrate-set-parameters changes it, migrate-cancel stops it",
    );
    return 0;
  },
};

/** `migrate-status`: the migration in progress, or the last one. */
export const migrateStatusCommand: CommandDef<ShellContext> = {
  name: "migrate-status",
  summary: "Show the migration in progress or the last one (QEMU's info migrate)",
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
  summary: "Set max-bandwidth, downtime-limit, max-rounds, on-no-convergence, xbzrle-cache-size, " +
    "cpu-throttle-* (no option: show); " +
    "a migration in progress takes them at its next round",
  options: [
    ...parameterOptions,
    {
      flags: "--on-no-convergence <policy>",
      description: "give-up (default) or force",
      type: enumType("policy", ["give-up", "force"]),
    },
    { flags: "--json", description: "print the parameters as one JSON object" },
  ],
  run(ctx, _args, opts): Promise<number> {
    const mig = migrationOf(ctx.session);
    mig.parameters = withOverrides(mig.parameters, opts);
    if (mig.current) mig.current = withOverrides(mig.current, opts);
    const p = mig.current ?? mig.parameters;
    if (opts.json) {
      ctx.io.out(JSON.stringify(p));
    } else {
      ctx.io.out(`max-bandwidth: ${p.maxBandwidth} bytes/second`);
      ctx.io.out(`downtime-limit: ${p.downtimeLimitMs} ms`);
      ctx.io.out(`max-rounds: ${p.maxRounds}`);
      ctx.io.out(`on-no-convergence: ${p.onNoConvergence}`);
      ctx.io.out(`xbzrle-cache-size: ${p.xbzrleCacheSize} bytes`);
      ctx.io.out(`cpu-throttle-initial: ${p.cpuThrottleInitial}`);
      ctx.io.out(`cpu-throttle-increment: ${p.cpuThrottleIncrement}`);
      ctx.io.out(`max-cpu-throttle: ${p.maxCpuThrottle}`);
      ctx.io.out(`postcopy-after-rounds: ${p.postcopyAfterRounds}`);
      if (mig.detached) ctx.io.out("(the migration in progress takes them at its next round)");
    }
    return Promise.resolve(0);
  },
};

/** `migrate-cancel`: stop the detached migration; the guest keeps running here. */
export const migrateCancelCommand: CommandDef<ShellContext> = {
  name: "migrate-cancel",
  summary: "Cancel the migration in progress (migrate -d); the guest keeps running here",
  async run(ctx): Promise<number> {
    const d = migrationOf(ctx.session).detached;
    if (!d) {
      ctx.io.out("migrate-cancel: no migration in progress");
      return 0;
    }
    if (migrationOf(ctx.session).last?.state === "postcopy-active") {
      // The destination already runs the guest on the pages it has: stopping now would leave the
      // guest whole on neither side, so postcopy runs to its end (or to a failed link).
      ctx.io.err(
        "migrate-cancel: postcopy has started: the destination runs the guest, so the " +
          "migration cannot be cancelled any more; it runs to completion (migrate-status)",
      );
      return 1;
    }
    d.controller.abort();
    await d.done; // its own report says what was cancelled
    return 0;
  },
};

/** `migrate-continue STATE`: leave pre-switchover (pause-before-switchover), as QEMU's. */
export const migrateContinueCommand: CommandDef<ShellContext> = {
  name: "migrate-continue",
  summary: "Continue a migration paused in pre-switchover (pause-before-switchover): the " +
    "stop-and-copy starts",
  args: [{
    name: "state",
    optional: true,
    description: "the state it is paused in (pre-switchover, the default)",
    type: enumType("state", ["pre-switchover"]),
  }],
  run(ctx): Promise<number> {
    const mig = migrationOf(ctx.session);
    const state = mig.last?.state ?? "none";
    if (!mig.resume || state !== "pre-switchover") {
      throw new UsageError(
        `Migration not in expected state: ${state} (migrate-continue applies in pre-switchover)`,
      );
    }
    const resume = mig.resume;
    mig.resume = undefined;
    resume();
    ctx.io.out("migrate-continue: the stop-and-copy starts");
    return Promise.resolve(0);
  },
};

/** `migrate-start-postcopy`: switch the migration in progress to postcopy, as QEMU's. */
export const migrateStartPostcopyCommand: CommandDef<ShellContext> = {
  name: "migrate-start-postcopy",
  summary: "Switch the migration in progress (migrate -d) to postcopy after its current round: " +
    "the destination runs the guest at once and pulls the pages still here (postcopy-ram on)",
  run(ctx): Promise<number> {
    const mig = migrationOf(ctx.session);
    if (!mig.capabilities.postcopyRam) {
      throw new UsageError(
        "Enable postcopy with migrate_set_capability before the start of migration " +
          "(set capability postcopy-ram on)",
      );
    }
    const state = mig.last?.state;
    if (!mig.detached || (state !== "setup" && state !== "active")) {
      throw new UsageError(
        `Postcopy must be started after migration has been started (state: ${state ?? "none"})`,
      );
    }
    mig.startPostcopy = true;
    ctx.io.out("migrate-start-postcopy: switching to postcopy after the current round");
    return Promise.resolve(0);
  },
};

/** Every migration command but incoming (incoming_command.ts), for repl/commands/mod.ts. */
export const migrateCommands: CommandDef<ShellContext>[] = [
  migrateCommand,
  migrateStatusCommand,
  migrateSetParametersCommand,
  migrateCancelCommand,
  migrateContinueCommand,
  migrateStartPostcopyCommand,
];
