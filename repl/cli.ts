/**
 * Turns command definitions into a commander program, for `deno task cli <command>` and for each
 * line the shell runs; help text is generated from the same definitions.
 * @module
 */
import { Command, CommanderError } from "commander";
import type { CommandContext, CommandDef } from "./commands/types.ts";
import { UsageError } from "./commands/types.ts";
import { MigrationError } from "../migration/errors.ts";

/** Build a fresh commander program from the definitions (fresh per run, so state never leaks). */
export function buildProgram<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  result: { code: number },
  programName = "snapshell",
): Command {
  const program = new Command(programName)
    .description("snapshell: a QEMU-compatible migration stream toolkit and RISC-V emulator")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.io.err(s.replace(/\n$/, "")),
    })
    .showHelpAfterError(false);
  for (const def of defs) {
    const cmd = program.command(def.name).description(def.summary).exitOverride()
      .allowExcessArguments(false);
    for (const a of def.args ?? []) {
      const spelled = a.optional
        ? `[${a.name}${a.variadic ? "..." : ""}]`
        : `<${a.name}${a.variadic ? "..." : ""}>`;
      cmd.argument(spelled, a.description ?? "");
    }
    for (const o of def.options ?? []) cmd.option(o.flags, o.description, o.default as string);
    cmd.action(async (...params: unknown[]) => {
      const nArgs = def.args?.length ?? 0;
      const positional = params.slice(0, nArgs).flatMap((p) =>
        p === undefined ? [] : Array.isArray(p) ? p : [String(p)]
      );
      const opts = (params[nArgs] ?? {}) as Record<string, unknown>;
      result.code = await def.run(ctx, positional, opts);
    });
  }
  return program;
}

/** Run one command line (already split into words); returns the exit status, never throws for user errors. */
export async function runCommandLine<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  argv: string[],
): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram(defs, ctx, result);
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
