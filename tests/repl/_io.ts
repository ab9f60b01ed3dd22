import type { CommandContext } from "../../repl/commands/types.ts";

/** A command context that captures everything a command prints. */
export function captureContext(): CommandContext & {
  outText: () => string;
  errText: () => string;
  rawText: () => string;
} {
  const out: string[] = [];
  const err: string[] = [];
  let raw = "";
  const dec = new TextDecoder();
  return {
    io: {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      raw: (b) => raw += dec.decode(b, { stream: true }),
    },
    outText: () => out.join("\n"),
    errText: () => err.join("\n"),
    rawText: () => raw,
  };
}
