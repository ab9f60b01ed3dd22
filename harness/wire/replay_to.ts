/**
 * `replay FILE --to tcp:HOST:PORT`: send a recorded migration stream (optionally corrupted by a
 * recipe first) into a live destination that runs `incoming`, at a chosen rate and write size,
 * applying wire faults on the way (cut, stall, and anything else the fault engine does), then
 * wait for the destination's verdict on the return path. Offsets in the faults and in the report
 * are the recorded stream's, named with its complete layout.
 * @module
 */
import { layoutOfBytes } from "../../migration/corrupt/mod.ts";
import { formatMigrationUri } from "../migration/uri.ts";
import { checkFaults, type EngineResult, type FaultEvent, runFaults } from "./fault_engine.ts";
import type { Fault } from "./fault_spec.ts";
import { recordedView } from "./stream_view.ts";
import { awaitVerdict, bytesInput, connectRetrying, connOutput, type Verdict } from "./wire_io.ts";

/** How to replay. */
export interface ReplayToOptions {
  /** Faults to apply (throttle and chunk set the pacing and write size). */
  faults?: Fault[];
  /** Keep trying to connect this long while the destination does not listen yet (ms). */
  connectTimeoutMs?: number;
  /** Wait this long for the verdict after the last byte, and for a stuck write (ms). */
  verdictTimeoutMs?: number;
  /** Every fault as it fires. */
  onEvent?(e: FaultEvent): void;
  /** Connected (with the destination's address). */
  onConnected?(where: string): void;
  /** Stalls wait on this (tests). */
  sleep?(ms: number): Promise<void>;
}

/** What happened. */
export interface ReplayToReport {
  /** The destination. */
  target: string;
  /** Size of the stream that was replayed. */
  streamBytes: number;
  /** What the engine did (events, cut, failure, bytes sent). */
  engine: EngineResult;
  /** The destination's answer. */
  verdict: Verdict;
  /** Wall-clock seconds from connecting to the verdict. */
  seconds: number;
}

/** The pacing a list of faults asks for (the last throttle and chunk win). */
export function pacingOf(faults: readonly Fault[]): { rate?: number; chunk?: number } {
  let rate: number | undefined;
  let chunk: number | undefined;
  for (const f of faults) {
    if (f.kind === "throttle") rate = f.rate;
    if (f.kind === "chunk") chunk = f.size;
  }
  return { rate, chunk };
}

/**
 * Replay `bytes` into the destination at `host:port`. Fault names that the stream does not have
 * are FaultSpecErrors before anything is sent; a failing connection is reported, not thrown.
 */
export async function replayTo(
  bytes: Uint8Array,
  host: string,
  port: number,
  opts: ReplayToOptions = {},
): Promise<ReplayToReport> {
  const faults = opts.faults ?? [];
  const view = recordedView(await layoutOfBytes(bytes, "<replayed stream>"));
  checkFaults(view, faults);
  const target = formatMigrationUri({ kind: "tcp", host, port });
  const verdictMs = opts.verdictTimeoutMs ?? 60_000;
  const conn = await connectRetrying(host, port, target, opts.connectTimeoutMs ?? 10_000);
  const t0 = performance.now();
  try {
    opts.onConnected?.(target);
    const output = connOutput(conn, target, { ...pacingOf(faults), writeTimeoutMs: verdictMs });
    const engine = await runFaults(bytesInput(bytes), output, view, faults, {
      onEvent: opts.onEvent,
      sleep: opts.sleep,
    });
    if (!engine.failure) await conn.closeWrite().catch(() => {});
    // After a failed write the destination may still have said why before it hung up.
    const verdict = await awaitVerdict(conn, target, engine.failure ? 2000 : verdictMs);
    return {
      target,
      streamBytes: bytes.length,
      engine,
      verdict,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    conn.close();
  }
}
