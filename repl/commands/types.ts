/**
 * One definition per command, used by the CLI (`deno task cli NAME`), the interactive shell and
 * scripts alike: name, arguments, options, help and the action. Nothing else parses arguments.
 * @module
 */

/** Where a command writes; the shell and tests capture it, the CLI sends it to stdout/stderr. */
export interface CommandOutput {
  /** Normal output (one line per call). */
  out(line: string): void;
  /** Diagnostics and errors. */
  err(line: string): void;
  /** Raw bytes as they come (the guest console); defaults to standard output. */
  raw?(bytes: Uint8Array): void;
}

/** A positional argument. */
export interface ArgumentDef {
  /** Placeholder shown in help. */
  name: string;
  /** Optional arguments show as [NAME]. */
  optional?: boolean;
  /** Takes the rest of the words. */
  variadic?: boolean;
  /** Help text. */
  description?: string;
}

/** An option, in commander's flag syntax (`--max-insns <n>`, `--stats`). */
export interface OptionDef {
  /** Flags as commander spells them. */
  flags: string;
  /** Help text. */
  description: string;
  /** Default value. */
  default?: string | boolean;
}

/** Everything a command needs to run, given by the CLI or the shell. */
export interface CommandContext {
  /** Output channel. */
  io: CommandOutput;
}

/** A command's single definition. */
export interface CommandDef<C extends CommandContext = CommandContext> {
  /** Command word. */
  name: string;
  /** One-line summary for help. */
  summary: string;
  /** Positional arguments in order. */
  args?: ArgumentDef[];
  /** Options. */
  options?: OptionDef[];
  /** Run it; resolves to the process exit status (0 = success). */
  run(ctx: C, args: string[], opts: Record<string, unknown>): Promise<number>;
}

/** A wrong command line: printed with usage, exit status 2. */
export class UsageError extends Error {
  /** Exit status for usage errors. */
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
