/**
 * snapshell's entry point: `main.ts repl [--script FILE]` opens the shell, any other words run
 * one command non-interactively (`deno task cli inspect FILE`).
 * @module
 */
import process from "node:process";
import { runCommandLine } from "./repl/cli.ts";
import { allCommands } from "./repl/commands/mod.ts";
import { Session, type ShellContext } from "./repl/session.ts";
import { runInteractive, runScript } from "./repl/shell.ts";

const encoder = new TextEncoder();
const io = {
  out: (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n")),
  err: (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
};

async function main(argv: string[]): Promise<number> {
  const defs = allCommands();
  const ctx: ShellContext = { io, session: await Session.withDefaultMachine() };
  if (argv[0] === "repl") {
    const i = argv.indexOf("--script");
    if (i >= 0) {
      const file = argv[i + 1];
      if (!file) {
        io.err("Usage error: --script needs a file");
        return 2;
      }
      return await runScript(defs, ctx, await Deno.readTextFile(file), file);
    }
    if (!process.stdin.isTTY) {
      const text = await new Response(Deno.stdin.readable).text();
      return await runScript(defs, ctx, text, "<stdin>");
    }
    return await runInteractive(defs, ctx);
  }
  return await runCommandLine(defs, ctx, argv);
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
