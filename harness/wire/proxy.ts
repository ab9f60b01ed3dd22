/**
 * The fault proxy: a man in the middle between a source running `migrate tcp:...` and a
 * destination running `incoming tcp:...`. It takes one connection, connects to the destination,
 * forwards the stream through the fault engine (learning its layout as it passes, so faults can
 * name sections and fields), relays the destination's return path (its SHUT verdict) back, and
 * reports every fault with the offset and section (and field, once the vmdesc was seen) it hit.
 * A cut closes the source's connection at once and half-closes the destination's, whose verdict
 * it still reads.
 * @module
 */
import { TransportError } from "../../migration/errors.ts";
import { formatMigrationUri } from "../migration/uri.ts";
import { withTimeout } from "../migration/transport.ts";
import { type EngineResult, type FaultEvent, runFaults } from "./fault_engine.ts";
import type { Fault } from "./fault_spec.ts";
import { pacingOf } from "./replay_to.ts";
import { LiveView, renameEvents } from "./stream_view.ts";
import { connectRetrying, connInput, connOutput, type Verdict } from "./wire_io.ts";
import { MIG_RP_MSG_SHUT } from "../migration/return_path.ts";

/** An address to listen on or connect to. */
export interface TcpAddress {
  host: string;
  port: number;
}

/** How the proxy behaves. */
export interface ProxyOptions {
  /** Faults to apply to the stream from the source. */
  faults?: Fault[];
  /** Waiting for the source to connect, for bytes from either side, or for a write (ms). */
  timeoutMs?: number;
  /** Told the listening address (the real port when 0 was asked). */
  onListening?(uri: string): void;
  /** Told when the source connected and the destination answered. */
  onConnected?(source: string, target: string): void;
  /** Every fault as it fires. */
  onEvent?(e: FaultEvent): void;
  /** Bytes of the stream kept for naming fields (default 256 MiB). */
  recordLimit?: number;
  /** Stalls wait on this (tests). */
  sleep?(ms: number): Promise<void>;
}

/** What the proxy saw and did. */
export interface ProxyReport {
  /** Where it listened. */
  listen: string;
  /** The destination. */
  target: string;
  /** Events, cut, failure, bytes in and out. */
  engine: EngineResult;
  /** The destination's verdict, as relayed. */
  verdict: Verdict;
  /** True when the complete layout (fields) was learnt. */
  layoutKnown: boolean;
  /** Wall-clock seconds from the source's connection to the end. */
  seconds: number;
}

/** Copies the destination's return path to the source and reads the SHUT verdict on the way. */
function relayReturnPath(
  dest: Deno.TcpConn,
  source: { conn: Deno.TcpConn; open: boolean },
  target: string,
): Promise<Verdict> {
  return (async () => {
    const got: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      let n: number | null;
      try {
        n = await dest.read(buf);
      } catch (e) {
        return {
          outcome: "none",
          reason: `${target} reset the connection: ${(e as Error).message}`,
        };
      }
      if (n === null) break;
      for (let i = 0; i < n && got.length < 8; i++) got.push(buf[i]);
      if (source.open) {
        try {
          let off = 0;
          while (off < n) off += await source.conn.write(buf.subarray(off, n));
        } catch { /* the source is gone; the verdict is still worth reading */ }
      }
    }
    if (got.length < 8) {
      return { outcome: "none", reason: `${target} closed the connection without a verdict` };
    }
    const type = (got[0] << 8) | got[1];
    if (type !== MIG_RP_MSG_SHUT) {
      return { outcome: "none", reason: `${target} sent return path message type ${type}` };
    }
    const status = ((got[4] << 24) | (got[5] << 16) | (got[6] << 8) | got[7]) >>> 0;
    return { outcome: status === 0 ? "loaded" : "rejected" };
  })();
}

/** Listen on `listen`, take one migration and forward it to `target` with `faults` applied. */
export async function runProxy(
  listen: TcpAddress,
  target: TcpAddress,
  opts: ProxyOptions = {},
): Promise<ProxyReport> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const faults = opts.faults ?? [];
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: listen.host, port: listen.port });
  } catch (e) {
    throw new TransportError(
      `Cannot listen on ${formatMigrationUri({ kind: "tcp", ...listen })}: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  const where = formatMigrationUri({ kind: "tcp", host: listen.host, port: listener.addr.port });
  const targetUri = formatMigrationUri({ kind: "tcp", ...target });
  opts.onListening?.(where);
  let sourceConn: Deno.TcpConn;
  try {
    sourceConn = await withTimeout(
      listener.accept(),
      timeoutMs,
      `Waiting for a source to connect to ${where}`,
    );
  } finally {
    listener.close();
  }
  const t0 = performance.now();
  const source = { conn: sourceConn, open: true };
  const closeSource = () => {
    if (source.open) source.conn.close();
    source.open = false;
  };
  let dest: Deno.TcpConn;
  try {
    dest = await connectRetrying(target.host, target.port, targetUri, timeoutMs);
    dest.setNoDelay(true);
  } catch (e) {
    closeSource();
    throw e;
  }
  const peer = source.conn.remoteAddr as Deno.NetAddr;
  opts.onConnected?.(`${peer.hostname}:${peer.port}`, targetUri);
  const verdict = relayReturnPath(dest, source, targetUri);
  const view = new LiveView(opts.recordLimit);
  let engine: EngineResult;
  try {
    engine = await runFaults(
      connInput(source.conn, `the source (${where})`, timeoutMs),
      connOutput(dest, targetUri, { ...pacingOf(faults), writeTimeoutMs: timeoutMs }),
      view,
      faults,
      { onEvent: opts.onEvent, sleep: opts.sleep },
    );
  } catch (e) {
    closeSource();
    dest.close();
    throw e;
  }
  // A cut or a failed destination leaves the source alone with a dead connection.
  if (engine.cut || engine.failure?.side === "destination") closeSource();
  await dest.closeWrite().catch(() => {});
  let answer: Verdict;
  try {
    answer = await withTimeout(verdict, timeoutMs, `Waiting for ${targetUri}'s verdict`);
  } catch (e) {
    if (!(e instanceof TransportError)) throw e;
    answer = { outcome: "none", reason: e.reason };
  }
  dest.close();
  closeSource();
  // Both sides are done: now name the faults with the complete layout, if there is one.
  if (engine.sourceEnded) {
    await view.learnLayout();
    renameEvents(engine.events, view);
  }
  return {
    listen: where,
    target: targetUri,
    engine,
    verdict: answer,
    layoutKnown: view.fullLayout !== undefined,
    seconds: (performance.now() - t0) / 1000,
  };
}
