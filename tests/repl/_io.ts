import { fail } from "node:assert/strict";
import { Session, type ShellContext } from "../../repl/session.ts";

/** A session on a small fresh machine whose snapshot store is a fresh temporary directory. */
export function testSession(ramSize = 16 << 20): Session {
  return new Session({ ramSize, store: Deno.makeTempDirSync({ prefix: "snapshell-store-" }) });
}

/** A shell context on a small fresh machine that captures everything commands print. */
export function captureContext(
  session: Session = testSession(),
): ShellContext & {
  outText: () => string;
  errText: () => string;
  rawText: () => string;
  clear: () => void;
} {
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
    clear: () => {
      out.length = 0;
      err.length = 0;
      raw = "";
    },
  };
}

/** A context on the demo guest (booted, paused at reset) with a temporary store. */
export async function demoContext(
  ramSize = 16 << 20,
): Promise<ReturnType<typeof captureContext>> {
  const session = await Session.withDefaultMachine({
    ramSize,
    store: await Deno.makeTempDir({ prefix: "snapshell-store-" }),
  });
  return captureContext(session);
}

/** Wait (on the event loop, no fixed sleeps) until `cond` holds; fails after `maxTurns` turns. */
export async function until(cond: () => boolean, maxTurns = 20_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  fail("condition not reached");
}
