/**
 * `main.ts inspect …` without the shell: a plain inspect command line (known options, one file)
 * runs the inspect command directly, without loading commander, every other command or a machine
 * (~0.15 s of start-up against a 0.1 s goal). Anything else (help, an unknown or malformed option)
 * returns undefined and goes through the full command line, so errors and help read the same.
 * @module
 */
import { inspectCommand } from "./inspect_command.ts";
import type { CommandContext } from "./types.ts";

/** Options of inspect that take a value, by flag, and the key the command reads them under. */
const VALUED: Record<string, string> = {
  "--format": "format",
  "--extract": "extract",
  "--html": "html",
};
/** Options of inspect that are switches. */
const SWITCHES: Record<string, string> = { "--dump-memory": "dumpMemory", "--hex": "hex" };

/**
 * Parse the words after `inspect` the way the full command line would, when they are plainly
 * valid; undefined for anything the full parser must see (help, errors, repeated file words).
 */
export function parseInspectWords(
  words: string[],
): { file: string; opts: Record<string, unknown> } | undefined {
  const opts: Record<string, unknown> = { format: "tree" };
  let file: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!word.startsWith("-") || word === "-") {
      if (file !== undefined) return undefined;
      file = word;
      continue;
    }
    const eq = word.indexOf("=");
    const flag = eq < 0 ? word : word.slice(0, eq);
    if (flag in SWITCHES && eq < 0) {
      opts[SWITCHES[flag]] = true;
    } else if (flag in VALUED) {
      const value = eq < 0 ? words[++i] : word.slice(eq + 1);
      if (value === undefined || value === "" || value.startsWith("-")) return undefined;
      opts[VALUED[flag]] = value;
    } else return undefined;
  }
  return file === undefined ? undefined : { file, opts };
}

/**
 * Run `inspect` from the command line words after it; undefined when the words need the full
 * command line. A user error is reported as the full command line reports it.
 */
export async function runInspectFast(
  words: string[],
  ctx: CommandContext,
): Promise<number | undefined> {
  const parsed = parseInspectWords(words);
  if (!parsed) return undefined;
  try {
    return await inspectCommand.run(ctx, [parsed.file], parsed.opts);
  } catch (e) {
    // A computed specifier: Deno then leaves the full command line (commander, every error
    // class of the shell) out of the start-up module graph of the fast path.
    const cli: typeof import("../cli.ts") = await import(
      new URL("../cli.ts", import.meta.url).href
    );
    return cli.reportError(e, ctx);
  }
}
