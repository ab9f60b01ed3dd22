/**
 * Turns command definitions into a commander program, for `deno task cli <command>` and for each
 * line the shell runs; help text is generated from the same definitions (argument types list
 * their values, examples come last).
 * @module
 */
import { Command, CommanderError } from "commander";
import type { CommandContext, CommandDef } from "./commands/types.ts";
import { UsageError } from "./commands/types.ts";
import { MigrationError } from "../migration/errors.ts";

/** Help is wrapped at this width everywhere, so it reads the same in a terminal and a test. */
export const HELP_WIDTH = 100;

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
      checkTypes(def, positional, opts);
      result.code = await def.run(ctx, positional, opts);
    });
  }
  return program;
}

/** Run every argument and option value through its type's parse (usage errors before acting). */
function checkTypes<C extends CommandContext>(
  def: CommandDef<C>,
  positional: string[],
  opts: Record<string, unknown>,
): void {
  const args = def.args ?? [];
  positional.forEach((word, i) => {
    const a = args[Math.min(i, args.length - 1)];
    if (a && (i < args.length || a.variadic)) a.type?.parse?.(word);
  });
  for (const o of def.options ?? []) {
    if (!o.type?.parse) continue;
    const key = /--([a-z0-9-]+)/i.exec(o.flags)?.[1]
      .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const v = key ? opts[key] : undefined;
    if (typeof v === "string") o.type.parse(v);
  }
}

/** Run one command line (already split into words); returns the exit status, never throws for user errors. */
export async function runCommandLine<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  argv: string[],
  options: ProgramOptions = {},
): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram(defs, ctx, result, options);
  try {
    await program.parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    return reportError(e, ctx);
  }
}

/** Print a user-facing error and choose its exit status. */
export function reportError(e: unknown, ctx: CommandContext): number {
  if (e instanceof CommanderError) {
    if (
      e.code === "commander.helpDisplayed" || e.code === "commander.help" ||
      e.code === "commander.version"
    ) return 0;
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UsageError) {
    ctx.io.err(`Usage error: ${e.message}`);
    return 2;
  }
  if (e instanceof MigrationError) {
    ctx.io.err(`${e.name} [${e.kind}]: ${e.message}`);
    return 1;
  }
  if (e instanceof Deno.errors.NotFound) {
    ctx.io.err(`Error: ${(e as Error).message}`);
    return 1;
  }
  if (
    e instanceof Error &&
    (e.name.endsWith("Error") && e.name !== "Error" && e.name !== "TypeError" &&
      e.name !== "RangeError")
  ) {
    ctx.io.err(`${e.name}: ${e.message}`);
    return 1;
  }
  throw e;
}
