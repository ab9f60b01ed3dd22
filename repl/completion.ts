/**
 * Tab completion from the command definitions: command names (and `help NAME`), option flags,
 * option values and positional arguments through their types (snapshot names, device names,
 * field paths, files…). Works on the text before the cursor, unterminated quotes included.
 * @module
 */
import { startingWith } from "./commands/arg_types.ts";
import { scanWords } from "./tokenize.ts";
import type { CommandContext, CommandDef, OptionDef } from "./commands/types.ts";

/** Words the shell itself understands, besides the commands. */
export const SHELL_WORDS = ["help", "quit", "exit"];

/** Split the text before the cursor into finished words and the partial word being typed. */
export function splitForCompletion(line: string): { words: string[]; partial: string } {
  const { words, partial } = scanWords(line, false);
  return { words, partial };
}

function longFlag<C extends CommandContext>(o: OptionDef<C>): string | undefined {
  return /--[a-z0-9-]+/i.exec(o.flags)?.[0];
}

function takesValue<C extends CommandContext>(o: OptionDef<C>): boolean {
  return /[<[]/.test(o.flags);
}

function findOption<C extends CommandContext>(
  def: CommandDef<C>,
  word: string,
): OptionDef<C> | undefined {
  return def.options?.find((o) => o.flags.split(/[ ,]+/).includes(word));
}

/** Candidates for the partial word at the end of `line`, and that partial word. */
export async function completeLine<C extends CommandContext>(
  defs: CommandDef<C>[],
  ctx: C,
  line: string,
): Promise<[string[], string]> {
  const { words, partial } = splitForCompletion(line);
  const names = defs.map((d) => d.name);
  if (words.length === 0) return [startingWith([...names, ...SHELL_WORDS], partial), partial];
  if (words[0] === "help") {
    return [words.length === 1 ? startingWith(names, partial) : [], partial];
  }
  const def = defs.find((d) => d.name === words[0]);
  if (!def) return [[], partial];
  const rest = words.slice(1);
  const last = rest[rest.length - 1];
  const lastOpt = last === undefined ? undefined : findOption(def, last);
  if (lastOpt && takesValue(lastOpt)) {
    return [await lastOpt.type?.complete?.(ctx, partial, []) ?? [], partial];
  }
  if (partial.startsWith("-")) {
    const flags = (def.options ?? []).map(longFlag).filter((f): f is string => !!f);
    return [startingWith(flags, partial), partial];
  }
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const o = findOption(def, rest[i]);
    if (o) {
      if (takesValue(o)) i++;
      continue;
    }
    positional.push(rest[i]);
  }
  const args = def.args ?? [];
  const lastArg = args[args.length - 1];
  const arg = positional.length < args.length
    ? args[positional.length]
    : lastArg?.variadic
    ? lastArg
    : undefined;
  if (!arg?.type) return [[], partial];
  const fromType = arg.type.complete
    ? await arg.type.complete(ctx, partial, positional)
    : startingWith(arg.type.values?.() ?? [], partial);
  return [fromType, partial];
}
