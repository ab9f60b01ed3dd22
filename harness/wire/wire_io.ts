/**
 * The ends of a faulty wire: reading a connection with an idle timeout, writing to one paced to a
 * rate and cut into writes of a chosen size, connecting to a destination that may not listen yet,
 * and waiting for its return-path verdict. Every failure is a TransportError.
 * @module
 */
import { TransportError } from "../../migration/errors.ts";
import type { ByteSink } from "../../migration/stream/writer.ts";
import { readShut, type ReturnPathOutcome } from "../migration/return_path.ts";
import { type Clock, realClock, ThrottledSink } from "../migration/sinks.ts";
import { withTimeout } from "../migration/transport.ts";
import type { EngineInput, EngineOutput } from "./fault_engine.ts";

/** A connection as the wire tools use it. */
export interface WireConn {
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/** Pieces of a recorded stream, `piece` bytes at a time. */
export function bytesInput(bytes: Uint8Array, piece = 64 * 1024): EngineInput {
  let at = 0;
  return {
    read() {
      if (at >= bytes.length) return Promise.resolve(null);
      const out = bytes.subarray(at, Math.min(bytes.length, at + piece));
      at += out.length;
      return Promise.resolve(out);
    },
  };
}

/** Read `conn`; no bytes for `idleMs` is a TransportError, as is a failing read. */
export function connInput(conn: WireConn, where: string, idleMs?: number): EngineInput {
  const buf = new Uint8Array(64 * 1024);
  return {
    async read() {
      let n: number | null;
      try {
        const reading = conn.read(buf);
        n = idleMs === undefined
          ? await reading
          : await withTimeout(reading, idleMs, `Reading from ${where}`);
      } catch (e) {
        if (e instanceof TransportError) throw e;
        throw new TransportError(`Reading from ${where} failed: ${message(e)}`, {}, { cause: e });
      }
      return n === null ? null : buf.slice(0, n);
    },
  };
}

/** How bytes leave. */
export interface WireOutputOptions {
  /** Bytes per second (unpaced when undefined). */
  rate?: number;
  /** Largest single write. */
  chunk?: number;
  /** A write that cannot finish within this long (the peer stopped reading) fails. */
  writeTimeoutMs?: number;
  /** Clock for pacing. */
  clock?: Clock;
}

/** Write to `conn`, paced and chunked; failures are TransportErrors naming `where`. */
export function connOutput(
  conn: WireConn,
  where: string,
  opts: WireOutputOptions = {},
): EngineOutput {
  const raw: ByteSink = {
    async write(bytes) {
      try {
        const all = (async () => {
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        })();
        if (opts.writeTimeoutMs === undefined) await all;
        else await withTimeout(all, opts.writeTimeoutMs, `Writing to ${where}`);
      } catch (e) {
        if (e instanceof TransportError) throw e;
        throw new TransportError(
          `${where} stopped taking the stream: ${message(e)}`,
          {},
          { cause: e },
        );
      }
    },
  };
  const paced: ByteSink = opts.rate === undefined
    ? raw
    : new ThrottledSink(raw, opts.rate, opts.clock ?? realClock);
  const chunk = opts.chunk;
  return {
    async write(bytes) {
      if (chunk === undefined || bytes.length <= chunk) return await paced.write(bytes);
      for (let off = 0; off < bytes.length; off += chunk) {
        await paced.write(bytes.subarray(off, Math.min(bytes.length, off + chunk)));
      }
    },
  };
}

/** Connect to `host:port`, retrying while nothing listens there yet, for at most `timeoutMs`. */
export async function connectRetrying(
  host: string,
  port: number,
  where: string,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    const connecting = Deno.connect({ hostname: host, port });
    try {
      return await withTimeout(connecting, Math.max(1, left), `Connecting to ${where}`);
    } catch (e) {
      connecting.then((c) => c.close(), () => {});
      if (e instanceof TransportError) throw e;
      const refused = e instanceof Deno.errors.ConnectionRefused;
      if (!refused || performance.now() + 25 >= deadline) {
        throw new TransportError(`Cannot connect to ${where}: ${message(e)}`, {}, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** What the destination said on the return path, or why it said nothing. */
export type Verdict =
  | { outcome: ReturnPathOutcome }
  | { outcome: "none"; reason: string };

/** Wait up to `timeoutMs` for the destination's SHUT message on `conn`. */
export async function awaitVerdict(
  conn: WireConn,
  where: string,
  timeoutMs: number,
): Promise<Verdict> {
  try {
    const outcome = await withTimeout(
      readShut(conn, where),
      timeoutMs,
      `Waiting for ${where} to load the stream`,
    );
    return { outcome };
  } catch (e) {
    if (e instanceof TransportError) return { outcome: "none", reason: e.reason };
    throw e;
  }
}

/** The verdict in words. */
export function formatVerdict(v: Verdict, where: string): string {
  if (v.outcome === "none") return `no verdict from ${where}: ${v.reason}`;
  return v.outcome === "loaded" ? `${where} loaded the stream` : `${where} rejected the stream`;
}
