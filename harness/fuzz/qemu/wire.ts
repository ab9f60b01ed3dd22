/**
 * `replay FILE --target qemu` with faults on the wire: the stream goes where a warm QEMU's
 * `migrate-incoming` reads (the port of `tcp:`, or the pipe of an `exec:` command: inlet.ts)
 * through snapshell's fault engine (harness/wire: a cut link, a stall, a throttled or chunked
 * link, truncation at a byte or a named position), and QEMU's verdict is classified like a fuzz
 * case (run_case.ts). A cut closes the connection, or the FIFO the command reads (the command
 * then ends, and QEMU sees its stream end there). The report keeps every fault as it fired,
 * with the stream offset and its name.
 * @module
 */
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { checkFaults, type EngineResult, runFaults } from "../../wire/fault_engine.ts";
import type { Fault } from "../../wire/fault_spec.ts";
import { pacingOf } from "../../wire/replay_to.ts";
import { recordedView } from "../../wire/stream_view.ts";
import { bytesInput, connOutput } from "../../wire/wire_io.ts";
import { openInlet, type QemuInlet } from "./inlet.ts";
import type { QemuOutcome } from "./outcome.ts";
import { QemuPool, type QemuPoolOptions } from "./pool.ts";

/** A QEMU verdict on a stream sent with wire faults, and what the fault engine did. */
export interface QemuWireResult {
  outcome: QemuOutcome;
  /** The engine's account (undefined when QEMU never got ready). */
  engine?: EngineResult;
}

/**
 * A sender for {@link QemuPool.run}: `bytes` through the fault engine into QEMU's inlet, closed
 * at the end (or at a cut); QEMU hanging up early is part of the verdict. Fault positions the
 * stream does not have are FaultSpecErrors before anything starts.
 */
export async function faultySender(
  bytes: Uint8Array,
  faults: readonly Fault[],
  writeTimeoutMs: number,
): Promise<{
  send: (inlet: QemuInlet) => Promise<void>;
  result: () => EngineResult | undefined;
}> {
  const view = recordedView(await layoutOfBytes(bytes, "<replayed stream>"));
  checkFaults(view, faults);
  let engine: EngineResult | undefined;
  const send = async (inlet: QemuInlet) => {
    const w = await openInlet(inlet);
    try {
      // Only written to: nothing comes back from QEMU's incoming side.
      const conn = { write: (b: Uint8Array) => w.write(b), read: () => Promise.resolve(null) };
      const output = connOutput(conn, inlet.uri, { ...pacingOf(faults), writeTimeoutMs });
      engine = await runFaults(bytesInput(bytes), output, view, [...faults]);
    } finally {
      w.close();
    }
  };
  return { send, result: () => engine };
}

/** Load `bytes` into one fresh QEMU through the fault engine, and classify its verdict. */
export async function runQemuWithFaults(
  bytes: Uint8Array,
  faults: readonly Fault[],
  opts: Omit<QemuPoolOptions, "warm">,
): Promise<QemuWireResult> {
  const sender = await faultySender(bytes, faults, 2 * (opts.qmpMs ?? 60_000));
  const pool = await QemuPool.create({ ...opts, warm: 1 });
  try {
    const outcome = await pool.run(bytes, sender.send);
    const engine = sender.result();
    return engine ? { outcome, engine } : { outcome };
  } finally {
    await pool.close();
  }
}
