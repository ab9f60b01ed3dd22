/**
 * `expect fails KIND|any [in SECTION] COMMAND [ARGS...]`: run a command that must fail with a
 * typed error of that kind (and, with `in`, located in that section), so a script can go on to
 * check that the failure changed nothing: `expect fails corrupt in ram incoming tcp:...:0`, then
 * `expect equal machine before`. The command's own output is printed as usual.
 * @module
 */
import { CommanderError } from "commander";
import { MigrationError } from "../../migration/errors.ts";
import { buildProgram } from "../cli.ts";
import type { ShellContext } from "../session.ts";
import { type CommandDef, UsageError } from "./types.ts";

const KINDS = ["corrupt", "incompatible", "environment"];

/** What to expect, from the words after `fails`. */
export interface FailureExpectation {
  /** The MigrationError kind, or undefined for any failure. */
  kind?: string;
  /** The section the error must name. */
  section?: string;
  /** The command and its words. */
  command: string[];
}

/** Parse `KIND|any [in SECTION] COMMAND...`. */
export function parseFailureExpectation(words: string[]): FailureExpectation {
  const usage = "Usage: expect fails corrupt|incompatible|environment|any [in SECTION] COMMAND...";
  const [kind, ...rest] = words;
  if (kind === undefined || (kind !== "any" && !KINDS.includes(kind))) throw new UsageError(usage);
  let section: string | undefined;
  if (rest[0] === "in") {
    section = rest[1];
    rest.splice(0, 2);
  }
  if (!rest.length || section === "") throw new UsageError(usage);
  return { ...(kind === "any" ? {} : { kind }), ...(section ? { section } : {}), command: rest };
}

/** Thrown when the expectation does not hold (the caller's ExpectationError type). */
export type Refusal = (message: string) => Error;

/**
 * Run the command (from `defs`, by default every command) and check that it failed as expected;
 * returns what `ok:` reports. `refuse` makes expect's ExpectationError.
 */
export async function expectFails(
  ctx: ShellContext,
  words: string[],
  refuse: Refusal,
  defs?: CommandDef<ShellContext>[],
): Promise<string> {
  const want = parseFailureExpectation(words);
  // Loaded here, not imported: the command list includes expect itself.
  const commands = defs ?? (await import("./mod.ts")).allCommands();
  const shown = want.command.join(" ");
  const result = { code: 0 };
  let error: unknown;
  try {
    await buildProgram(commands, ctx, result).parseAsync(want.command, { from: "user" });
  } catch (e) {
    if (e instanceof UsageError || e instanceof CommanderError) throw e;
    error = e;
  }
  if (error === undefined) {
    if (result.code === 0) throw refuse(`"${shown}" succeeded, expected it to fail`);
    if (want.kind || want.section) {
      throw refuse(`"${shown}" failed with status ${result.code} but without a typed error`);
    }
    return `"${shown}" fails (status ${result.code})`;
  }
  if (!(error instanceof MigrationError)) {
    if (want.kind || want.section) throw error;
    return `"${shown}" fails: ${(error as Error).message}`;
  }
  const what = `${error.name} [${error.kind}]: ${error.message}`;
  if (want.kind && error.kind !== want.kind) {
    throw refuse(`"${shown}" failed as ${error.kind}, expected ${want.kind}: ${what}`);
  }
  if (want.section && error.section?.toLowerCase() !== want.section.toLowerCase()) {
    throw refuse(
      `"${shown}" failed ${
        error.section === undefined ? "outside any section" : `in section "${error.section}"`
      }, expected "${want.section}": ${what}`,
    );
  }
  return `"${shown}" fails (${error.kind}): ${what}`;
}
