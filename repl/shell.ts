/**
 * The snapshot shell: reads command lines from a terminal (line editing, persistent history and
 * Tab completion through node:readline), from a script file, or from piped standard input, and
 * runs each through the same command definitions as the CLI. Errors never end the shell; Ctrl-C
 * stops a running guest or cancels a migration in progress (`migrate`, `incoming`), and at the
 * prompt it only clears the line.
 * @module
 */
import * as readline from "node:readline";
import process from "node:process";
import { aliasHelp, aliasNote, expandAlias } from "./aliases.ts";
import { reportError, runCommandLine } from "./cli.ts";
import { completeLine } from "./completion.ts";
import { describeOutcome } from "./machine_text.ts";
import type { CommandContext, CommandDef, CommandOutput } from "./commands/types.ts";
import { appendHistory, HISTORY_SIZE, historyPath, loadHistory } from "./history.ts";
import { terminalProgress } from "./progress.ts";
import type { ShellContext } from "./session.ts";
import { colors } from "./style.ts";
import { tokenize } from "./tokenize.ts";

/** The shell's own words and keys, shown at the end of `help`. */
export const SHELL_HELP = [
  "Shell: help CMD shows a command's help; quit (or Ctrl-D) leaves; Tab completes;",
  "Up/Down recall history; Ctrl-C stops a running guest or cancels migrate/incoming/replay.",
  "Scripts: deno task repl --script FILE [--echo] (--echo prints each line before its output).",
  "Units: run N and --max-cycles count cycles (10 ns of virtual time each, idle cycles in WFI",
  "included); step N, snapshot --insns and replay --insns count instructions retired.",
  aliasHelp(),
].join("\n");

/** The one-line hint printed when the shell opens. */
export const OPENING_HINT =
  'snapshell: the demo guest is paused at reset. Try: run until "heartbeat 1", regs, ' +
  "save first, info devices, help. Tab completes; Ctrl-C stops the guest; quit leaves.";

/** Options of {@link runInteractive}. */
export interface InteractiveOptions {
  /** History file (default: SNAPSHELL_HISTORY or ~/.snapshell_history). */
  historyFile?: string;
  /** Terminal input (default: standard input). */
  input?: NodeJS.ReadableStream;
  /** Terminal output (default: standard output). */
  output?: NodeJS.WritableStream;
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
  const expanded = expandAlias(words);
  if (expanded.alias) {
    ctx.io.out(aliasNote(expanded.alias));
    words = expanded.words;
  }
  if (words[0] === "quit" || words[0] === "exit") return "quit";
  return await runCommandLine(defs, ctx, words, { helpFooter: SHELL_HELP });
}

/** Options of {@link runScript}. */
export interface ScriptOptions {
  /** Print each command line (`> LINE`) before its output, so output can be matched to lines. */
  echo?: boolean;
}

/** Run lines of a script; stops at the first failing line and names it. */
export async function runScript<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  text: string,
  source: string,
  opts: ScriptOptions = {},
): Promise<number> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (opts.echo && lines[i].trim() !== "" && !lines[i].trimStart().startsWith("#")) {
      ctx.io.out(`> ${lines[i].trim()}`);
    }
    const r = await runLine(defs, ctx, lines[i]);
    if (r === "quit") return 0;
    if (r !== 0) {
      // The line may not tokenize (an unterminated quote): its first word is enough here.
      const what = /^\s*expect(\s|$)/.test(lines[i]) ? "expectation failed" : "command failed";
      ctx.io.err(`${source}:${i + 1}: ${what}: ${lines[i].trim()}`);
      return r;
    }
  }
  return 0;
}

/** Writes to a terminal that shows a prompt: asynchronous output goes above the prompt line. */
class PromptWriter {
  promptShown = false;
  private atLineStart = true;
  private pending: number[] = [];
  private flushScheduled = false;
  private readonly decoder = new TextDecoder();
  rl: readline.Interface | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Write text now (above the prompt when it is shown). */
  write(text: string): void {
    if (!text) return;
    if (this.promptShown && this.rl) {
      readline.clearLine(this.out, 0);
      readline.cursorTo(this.out, 0);
      this.out.write(text.endsWith("\n") ? text : text + "\n");
      this.atLineStart = true;
      this.rl.prompt(true);
      return;
    }
    this.out.write(text);
    this.atLineStart = text.endsWith("\n");
  }

  /**
   * A whole line of command output: guest output printed before it comes first, and it starts on
   * a fresh line after partial guest output.
   */
  line(text: string): void {
    this.flushGuest(!this.promptShown);
    this.write(`${this.atLineStart || this.promptShown ? "" : "\n"}${text}\n`);
  }

  /** One byte of guest console output; flushed soon, whole lines only while the prompt shows. */
  guestByte(b: number): void {
    this.pending.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => {
        this.flushScheduled = false;
        this.flushGuest(false);
      }, 0);
    }
  }

  /** Print buffered guest output (all of it, or complete lines only while the prompt shows). */
  flushGuest(all: boolean): void {
    if (this.pending.length === 0) return;
    let n = this.pending.length;
    if (this.promptShown && !all) {
      n = this.pending.lastIndexOf(10) + 1;
      if (n === 0) return;
    }
    const bytes = new Uint8Array(this.pending.splice(0, n));
    this.write(this.decoder.decode(bytes, { stream: true }));
  }

  /** Show the prompt on a fresh line. */
  prompt(): void {
    this.flushGuest(true);
    if (!this.atLineStart) this.out.write("\n");
    this.atLineStart = true;
    this.promptShown = true;
    this.rl?.prompt();
  }
}

/** Run the interactive shell until `quit` or end of input; resolves to the exit status. */
export async function runInteractive(
  defs: CommandDef<ShellContext>[],
  base: ShellContext,
  opts: InteractiveOptions = {},
): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const histFile = opts.historyFile ?? historyPath();
  const term = new PromptWriter(output);
  const io: CommandOutput = {
    out: (l) => term.line(l),
    err: (l) => term.line(colors.red(l)),
    raw: (b) => term.write(new TextDecoder().decode(b)),
  };
  const ctx: ShellContext = {
    ...base,
    io,
    interactive: true,
    progress: base.progress ?? terminalProgress(),
  };
  const session = ctx.session;
  session.echo = (b) => term.guestByte(b);
  session.onBackgroundEnd = (o) => {
    term.flushGuest(true);
    term.line(colors.yellow(describeOutcome(session.machine, o, "background run finished").line));
  };
  const rl = readline.createInterface({
    input,
    output,
    terminal: true,
    history: await loadHistory(histFile),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      completeLine(defs, ctx, line).then((r) => cb(null, r), () => cb(null, [[], line]));
    },
  } as readline.ReadLineOptions);
  term.rl = rl;
  rl.setPrompt(colors.cyan("snapshell> "));
  term.line(OPENING_HINT);

  const queue: string[] = [];
  let busy = false;
  let closed = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => finish = resolve);

  rl.on("SIGINT", () => {
    const active = session.active;
    if (active) {
      session.stopRun().then((o) => {
        if (active.background && o) {
          term.flushGuest(true);
          term.line(describeOutcome(active.machine, o, "stopped").line);
        }
      });
      if (!active.background) term.write("^C\n");
      return;
    }
    if (session.cancelOperation()) {
      term.write("^C\n"); // the command says what it cancelled and what is left
      return;
    }
    term.promptShown = false;
    term.write("^C (type quit or press Ctrl-D to leave)\n");
    rl.write(null, { ctrl: true, name: "u" });
    term.prompt();
  });

  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length && !closed) {
      const line = queue.shift()!;
      term.promptShown = false;
      await appendHistory(histFile, line);
      let r: number | "quit";
      try {
        r = await runLine(defs, ctx, line);
      } catch (e) {
        io.err(`internal error (this is a bug, the shell goes on): ${(e as Error)?.stack ?? e}`);
        r = 70;
      }
      if (r === "quit") {
        rl.close();
        break;
      }
    }
    busy = false;
    if (!closed) term.prompt();
  };
  rl.on("line", (line: string) => {
    queue.push(line);
    pump();
  });
  rl.on("close", () => {
    closed = true;
    term.promptShown = false;
    session.stopRun().then(() => {
      session.echo = undefined;
      session.onBackgroundEnd = undefined;
      term.flushGuest(true);
      finish(0);
    });
  });
  term.prompt();
  return await finished;
}
