/**
 * The snapshot shell: reads command lines from a terminal (with line editing, history and Tab
 * completion through node:readline), from a script file, or from piped standard input, and runs
 * each through the same command definitions as the CLI. Errors never end the shell.
 * @module
 */
import * as readline from "node:readline";
import process from "node:process";
import { reportError, runCommandLine } from "./cli.ts";
import type { CommandContext, CommandDef } from "./commands/types.ts";
import { tokenize } from "./tokenize.ts";

/** Run the interactive shell until `quit` or end of input; resolves to the exit status. */
export async function runInteractive<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
): Promise<number> {
  const names = ["help", "quit", ...defs.map((d) => d.name)];
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    historySize: 1000,
    completer: (line: string) => {
      const hits = names.filter((n) => n.startsWith(line.trim()));
      return [hits.length ? hits : names, line];
    },
  });
  ctx.io.out(
    "snapshell: type 'help' for commands, 'inspect FILE' to look inside a migration stream, 'quit' to leave",
  );
  rl.setPrompt("snapshell> ");
  rl.prompt();
  let code = 0;
  rl.on("SIGINT", () => {
    ctx.io.out("^C (type 'quit' to leave)");
    rl.prompt();
  });
  for await (const line of rl) {
    const r = await runLine(defs, ctx, line);
    if (r === "quit") break;
    code = r;
    rl.prompt();
  }
  rl.close();
  return code;
}

/** Run lines of a script; stops at the first failing line and names it. */
export async function runScript<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  text: string,
  source: string,
): Promise<number> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const r = await runLine(defs, ctx, lines[i]);
    if (r === "quit") return 0;
    if (r !== 0) {
      ctx.io.err(`${source}:${i + 1}: command failed: ${lines[i].trim()}`);
      return r;
    }
  }
  return 0;
}

/** Run one line; "quit" ends the session. */
export async function runLine<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  line: string,
): Promise<number | "quit"> {
  let words: string[];
  try {
    words = tokenize(line);
  } catch (e) {
    return reportError(e, ctx);
  }
  if (words.length === 0) return 0;
  if (words[0] === "quit" || words[0] === "exit") return "quit";
  if (words[0] === "help") words = words.length > 1 ? [words[1], "--help"] : ["--help"];
  return await runCommandLine(defs, ctx, words);
}
