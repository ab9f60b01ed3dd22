import { Session, type ShellContext } from "../../repl/session.ts";

/** A shell context on a small fresh machine that captures everything commands print. */
export function captureContext(
  session: Session = new Session({ ramSize: 16 << 20 }),
): ShellContext & { outText: () => string; errText: () => string; rawText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  let raw = "";
  const dec = new TextDecoder();
  return {
    session,
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
