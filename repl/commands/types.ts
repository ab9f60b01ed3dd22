/**
 * One definition per command, used by the CLI (`deno task cli NAME`), the interactive shell and
 * scripts alike: name, arguments and options with their types (which check words, list values
 * for help and complete them), help and the action. Nothing else parses arguments.
 * @module
 */
import type { ProgressFactory } from "../progress.ts";

/** Where a command writes; the shell and tests capture it, the CLI sends it to stdout/stderr. */
export interface CommandOutput {
  /** Normal output (one line per call). */
  out(line: string): void;
  /** Diagnostics and errors. */
  err(line: string): void;
  /** Raw bytes as they come (the guest console); defaults to standard output. */
  raw?(bytes: Uint8Array): void;
}

/** Everything a command needs to run, given by the CLI or the shell. */
export interface CommandContext {
  /** Output channel. */
  io: CommandOutput;
  /** Progress bars for long work; absent means silent (see `progressOf`). */
  progress?: ProgressFactory;
}

/**
 * A kind of argument value, cliffy-style: how to check a word, which values it has (for help)
 * and how to complete a partial word (for Tab in the shell).
 */
export interface ArgType<C extends CommandContext = CommandContext> {
  /** Name shown in help (`count`, `snapshot`, `device`). */
  readonly name: string;
  /**
   * Check a word and turn it into the value the command receives (a count as a number, a
   * duration as nanoseconds); throws a UsageError saying why it is not valid, naming the value
   * `what` (the option's flag, `--seed`) when given.
   */
  parse?(word: string, what?: string): unknown;
  /** Every accepted value, when the set is fixed (listed in help, offered by completion). */
  values?(): string[];
  /** Candidates for a partial word (`previous`: the command's arguments before it). */
  complete?(ctx: C, partial: string, previous: string[]): string[] | Promise<string[]>;
}

/** A positional argument. */
export interface ArgumentDef<C extends CommandContext = CommandContext> {
  /** Placeholder shown in help. */
  name: string;
  /** Optional arguments show as [NAME]. */
  optional?: boolean;
  /** Takes the rest of the words. */
  variadic?: boolean;
  /** Help text. */
  description?: string;
  /** Value type: checks the word before the action runs, and completes it. */
  type?: ArgType<C>;
}

/** An option, in commander's flag syntax (`--max-insns <n>`, `--stats`). */
export interface OptionDef<C extends CommandContext = CommandContext> {
  /** Flags as commander spells them. */
  flags: string;
  /** Help text. */
  description: string;
  /** Default value. */
  default?: string | boolean;
  /** Value type of the option's argument. */
  type?: ArgType<C>;
}

/** Positional argument values, as their types parsed them (a variadic argument's words in a row). */
export type ArgValues = readonly unknown[];

/** Option values by commander's camelCase key, as their types parsed them. */
export type OptionValues = Readonly<Record<string, unknown>>;

/** A command's single definition. */
export interface CommandDef<C extends CommandContext = CommandContext> {
  /** Command word. */
  name: string;
  /** One-line summary for help. */
  summary: string;
  /** Positional arguments in order. */
  args?: ArgumentDef<C>[];
  /** Options. */
  options?: OptionDef<C>[];
  /** Examples shown at the end of `help NAME`. */
  examples?: string[];
  /** Words that look like options (`-1`) are taken as arguments (for values and expressions). */
  literalArgs?: boolean;
  /**
   * Run it; resolves to the process exit status (0 = success). `args` and `opts` hold the values
   * the declared types parsed (a word without a type stays a string; flags are booleans).
   */
  run(ctx: C, args: ArgValues, opts: OptionValues): Promise<number>;
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
