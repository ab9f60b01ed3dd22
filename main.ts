/**
 * snapshell's entry point: `main.ts repl [--script FILE]` opens the shell (or runs a script, or
 * reads commands from standard input when it is not a terminal), any other words run one command
 * non-interactively (`deno task cli inspect FILE`). `--store DIR` (anywhere before the command
 * words, or after `repl`) chooses the snapshot store; `SNAPSHELL_STORE` does too.
 * @module
 */
import type { Session, ShellContext } from "./repl/session.ts";

const encoder = new TextEncoder();
const io = {
  out: (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n")),
  err: (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
};

/** The global options main.ts takes before the command words. */
export interface MainOptions {
  /** Snapshot store directory. */
  store?: string;
  /** Script file (repl only). */
  script?: string;
  /** Print each script line before its output (repl only). */
  echo?: boolean;
  /** Boot the Linux guest instead of the demo (repl only: `deno task repl --linux`). */
  linux?: boolean;
  /** The remaining words. */
  rest: string[];
  /** A usage problem with the global options. */
  error?: string;
}

/** Pull `--store DIR` (anywhere) and, after `repl`, `--script FILE`, `--echo`, `--linux` out. */
export function parseMainArgs(argv: string[]): MainOptions {
  const out: MainOptions = { rest: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--echo" && out.rest[0] === "repl") {
      out.echo = true;
      continue;
    }
    if (argv[i] === "--linux" && out.rest[0] === "repl") {
      out.linux = true;
      continue;
    }
    const m = /^--(store|script)(?:=(.*))?$/.exec(argv[i]);
    if (m && (m[1] === "store" || out.rest[0] === "repl")) {
      const name = m[1] as "store" | "script";
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === "") {
        out.error = `--${name} needs a value`;
        break;
      }
      out[name] = value;
      continue;
    }
    out.rest.push(argv[i]);
  }
  return out;
}

/**
 * Import a module by a computed specifier: Deno then leaves it out of the start-up module graph,
 * so a one-shot `inspect` does not pay ~30 ms for the shell's ~950 modules it never runs.
 */
function lazy<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href);
}

async function main(argv: string[]): Promise<number> {
  const args = parseMainArgs(argv);
  if (args.error) {
    io.err(`Usage error: ${args.error}`);
    return 2;
  }
  if (args.rest[0] === "inspect" && !args.linux) {
    // The stream tools' hot path: no commander, other commands or machine to load.
    const { runInspectFast } = await lazy<typeof import("./repl/commands/inspect_fast.ts")>(
      "./repl/commands/inspect_fast.ts",
    );
    const code = await runInspectFast(args.rest.slice(1), { io });
    if (code !== undefined) return code;
  }
  const [{ runCommandLine }, { allCommands }, { terminalProgress }, { guestImageFor }, {
    Session,
  }, { runInteractive, runScript }] = await Promise.all([
    lazy<typeof import("./repl/cli.ts")>("./repl/cli.ts"),
    lazy<typeof import("./repl/commands/mod.ts")>("./repl/commands/mod.ts"),
    lazy<typeof import("./repl/progress.ts")>("./repl/progress.ts"),
    lazy<typeof import("./repl/guest_boot.ts")>("./repl/guest_boot.ts"),
    lazy<typeof import("./repl/session.ts")>("./repl/session.ts"),
    lazy<typeof import("./repl/shell.ts")>("./repl/shell.ts"),
  ]);
  const defs = allCommands();
  const session = await Session.withDefaultMachine(args.store ? { store: args.store } : {});
  const ctx: ShellContext = { io, session, progress: terminalProgress() };
  if (args.linux) {
    try {
      session.boot(await guestImageFor("linux", {}));
    } catch (e) {
      io.err(`Error: ${(e as Error).message}`);
      return 1;
    }
  }
  if (args.rest[0] === "repl") {
    if (args.rest.length > 1) {
      io.err(`Usage error: unexpected "${args.rest.slice(1).join(" ")}" after repl`);
      return 2;
    }
    if (args.script !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(args.script);
      } catch (e) {
        io.err(`Error: cannot read script "${args.script}": ${(e as Error).message}`);
        return 1;
      }
      return await withInterruptStop(
        session,
        () => runScript(defs, ctx, text, args.script!, { echo: args.echo }),
      );
    }
    if (!Deno.stdin.isTerminal()) {
      const text = await new Response(Deno.stdin.readable).text();
      return await withInterruptStop(
        session,
        () => runScript(defs, ctx, text, "<stdin>", { echo: args.echo }),
      );
    }
    return await runInteractive(defs, ctx);
  }
  return await withInterruptStop(session, () => runCommandLine(defs, ctx, args.rest));
}

/**
 * Outside the interactive shell, SIGINT (Ctrl-C) stops a running guest or cancels a migration in
 * progress (`migrate`, `incoming`); a second one exits.
 */
async function withInterruptStop(session: Session, fn: () => Promise<number>): Promise<number> {
  let seen = false;
  const onSigint = () => {
    if (!seen && session.active) {
      seen = true;
      session.stopRun();
      return;
    }
    if (!seen && session.cancelOperation()) {
      seen = true;
      return;
    }
    Deno.exit(130);
  };
  try {
    Deno.addSignalListener("SIGINT", onSigint);
  } catch { /* no signals on this platform */ }
  try {
    return await fn();
  } finally {
    try {
      Deno.removeSignalListener("SIGINT", onSigint);
    } catch { /* as above */ }
  }
}

/** Exit status of an unexpected exception: always a snapshell bug, never a user error. */
export const EXIT_INTERNAL = 70;

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    io.err(`snapshell: internal error (this is a bug): ${(e as Error)?.stack ?? e}`);
    code = EXIT_INTERNAL;
  }
  Deno.exit(code);
}
