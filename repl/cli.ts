/**
 * Turns command definitions into a commander program, for `deno task cli <command>` and for each
 * line the shell runs; help text is generated from the same definitions (argument types list
 * their values, examples come last).
 * @module
 */
import { Command, CommanderError } from "commander";
import type { CommandContext, CommandDef } from "./commands/types.ts";
import type { ArgValues, OptionValues } from "./commands/types.ts";
import { describeUserError } from "./errors.ts";

/** Help is wrapped at this width everywhere, so it reads the same in a terminal and a test. */
export const HELP_WIDTH = 100;

/** The options main.ts takes before the command words, shown at the end of `--help`. */
export const GLOBAL_OPTIONS_HELP = [
  "Global options (before the command):",
  "  --store DIR      the snapshot store (default: $SNAPSHELL_STORE, else snapshots/)",
  "  repl --script FILE [--echo]   run a script; --echo prints each line before its output",
  "help CMD (or CMD --help) shows one command's help.",
].join("\n");

/** Extra text for the program's help (the shell adds its own keys and words). */
export interface ProgramOptions {
  /** Program name in usage lines. */
  name?: string;
  /** Text after the command list in `help`. */
  helpFooter?: string;
}

function describeArg(description: string | undefined, values: string[] | undefined): string {
  const d = description ?? "";
  return values ? `${d}${d ? " " : ""}(one of: ${values.join(", ")})` : d;
}

/** Build a fresh commander program from the definitions (fresh per run, so state never leaks). */
export function buildProgram<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  result: { code: number },
  options: ProgramOptions | string = {},
): Command {
  const opts = typeof options === "string" ? { name: options } : options;
  const program = new Command(opts.name ?? "snapshell")
    .description("snapshell: a QEMU-compatible migration stream toolkit and RISC-V emulator")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.io.err(s.replace(/\n$/, "")),
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .showHelpAfterError(false)
    .addHelpCommand(false);
  program.addHelpText("after", `\n${GLOBAL_OPTIONS_HELP}`);
  if (opts.helpFooter) program.addHelpText("after", `\n${opts.helpFooter}`);
  for (const def of defs) {
    const cmd = program.command(def.name).description(def.summary).exitOverride()
      .allowExcessArguments(false);
    if (def.literalArgs) cmd.allowUnknownOption(true);
    for (const a of def.args ?? []) {
      const spelled = a.optional
        ? `[${a.name}${a.variadic ? "..." : ""}]`
        : `<${a.name}${a.variadic ? "..." : ""}>`;
      cmd.argument(spelled, describeArg(a.description, a.type?.values?.()));
    }
    for (const o of def.options ?? []) {
      cmd.option(o.flags, describeArg(o.description, o.type?.values?.()), o.default as string);
    }
    if (def.examples?.length) {
      cmd.addHelpText("after", `\nExamples:\n${def.examples.map((e) => `  ${e}`).join("\n")}`);
    }
    cmd.action(async (...params: unknown[]) => {
      const nArgs = def.args?.length ?? 0;
      const positional = params.slice(0, nArgs).flatMap((p) =>
        p === undefined ? [] : Array.isArray(p) ? p.map(String) : [String(p)]
      );
      const opts = (params[nArgs] ?? {}) as Record<string, unknown>;
      const parsed = parseValues(def, positional, opts);
      result.code = await def.run(ctx, parsed.args, parsed.opts);
    });
  }
  return program;
}

/** The key commander files an option under (`--max-insns` -> `maxInsns`). */
export function optionKey(flags: string): string | undefined {
  return /--(?:no-)?([a-z0-9-]+)/i.exec(flags)?.[1]
    .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The long flag of an option (`--max-cycles`), as errors name it. */
function optionFlag(flags: string): string | undefined {
  return /--[a-z0-9-]+/i.exec(flags)?.[0];
}

/**
 * Run every argument and option value (defaults included) through its type's parse, before the
 * command acts: the command receives the values, and a bad word is a usage error.
 */
export function parseValues<C extends CommandContext>(
  def: CommandDef<C>,
  positional: string[],
  opts: Record<string, unknown>,
): { args: ArgValues; opts: OptionValues } {
  const defs = def.args ?? [];
  const args = positional.map((word, i) => {
    const a = defs[Math.min(i, defs.length - 1)];
    return a?.type?.parse && (i < defs.length || a.variadic) ? a.type.parse(word) : word;
  });
  const values: Record<string, unknown> = { ...opts };
  for (const o of def.options ?? []) {
    if (!o.type?.parse) continue;
    const key = optionKey(o.flags);
    const v = key ? values[key] : undefined;
    if (key && typeof v === "string") values[key] = o.type.parse(v, optionFlag(o.flags));
  }
  return { args, opts: values };
}

/** Run one command line (already split into words); returns the exit status, never throws for user errors. */
export async function runCommandLine<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  argv: string[],
  options: ProgramOptions = {},
): Promise<number> {
  const result = { code: 0 };
  // `help CMD` as in the shell, and plain `help`.
  if (argv[0] === "help") argv = argv.length > 1 ? [argv[1], "--help"] : ["--help"];
  const program = buildProgram(defs, ctx, result, options);
  try {
    await program.parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    return reportError(e, ctx);
  }
}

/** Print a user-facing error and choose its exit status; a bug (an unknown error) is rethrown. */
export function reportError(e: unknown, ctx: CommandContext): number {
  if (e instanceof CommanderError) {
    if (
      e.code === "commander.helpDisplayed" || e.code === "commander.help" ||
      e.code === "commander.version"
    ) return 0;
    return e.exitCode === 0 ? 0 : 2;
  }
  const shown = describeUserError(e);
  if (!shown) throw e;
  ctx.io.err(shown.line);
  return shown.code;
}
