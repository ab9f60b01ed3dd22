/**
 * One stream into one warm QEMU and its verdict: the bytes go to the port `migrate-incoming`
 * listens on; then the MIGRATION event (completed / failed), the process's exit, or the bound
 * decides. An accepted load is asked `query-status`, resumed with `cont`, and watched for a bounded
 * time: still `running` (and how much the guest wrote to its console) or not. A QEMU that refused
 * exits by itself with its error text on stderr; one that dies on a signal crashed.
 * @module
 */
import { keyLine, type QemuOutcome } from "./outcome.ts";
import { describeExit, type QemuProcess } from "./process.ts";

/** Bounds of one case. */
export interface CaseBounds {
  /** No MIGRATION verdict or exit in this long: hung (default 10,000 ms). */
  loadMs?: number;
  /** How long an accepted guest runs after `cont` (default 300 ms). */
  runMs?: number;
}

const MIGRATION_END = new Set(["completed", "failed", "cancelled"]);

/** Write `bytes` to 127.0.0.1:`port` and close; QEMU hanging up early is part of the verdict. */
async function send(port: number, bytes: Uint8Array): Promise<void> {
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  } catch {
    // ECONNRESET / EPIPE: QEMU stopped reading (it refused the stream or died).
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

function crashedOrStopped(q: QemuProcess, phase: string): QemuOutcome {
  const e = q.exit!;
  const exit = describeExit(e);
  if (e.signal) {
    return { class: "crashed", phase, exit, detail: keyLine(q.stderr) || `signal ${e.signal}` };
  }
  return {
    class: phase === "load" ? "rejected" : "stopped",
    phase,
    exit,
    detail: keyLine(q.stderr),
  };
}

/** `p`'s value, or undefined after `ms` (the timer is cleared either way). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Run one case on `q` (which is used up: the caller disposes of it) and classify it. */
export async function runQemuCase(
  q: QemuProcess,
  bytes: Uint8Array,
  bounds: CaseBounds = {},
): Promise<QemuOutcome> {
  const loadMs = bounds.loadMs ?? 10_000;
  const runMs = bounds.runMs ?? 300;
  const sent = send(q.port, bytes);
  const verdict = await q.qmp.waitEvent(
    (e) => e.event === "MIGRATION" && MIGRATION_END.has(String(e.data?.status)),
    loadMs,
  );
  await sent;
  const status = verdict ? String(verdict.data?.status) : undefined;
  if (status !== "completed") {
    // QEMU exits after a failed incoming migration: wait for that (bounded), then read why.
    const exited = await within(q.exited, status ? loadMs : 200);
    if (!exited) {
      return status
        ? { class: "hung", phase: "exit", detail: `load ${status} but QEMU did not exit` }
        : { class: "hung", phase: "load", detail: `no verdict in ${loadMs} ms` };
    }
    await q.settleStderr();
    return crashedOrStopped(q, "load");
  }
  try {
    const before = await q.qmp.execute("query-status", undefined, loadMs) as { status: string };
    if (before.status !== "paused") {
      return { class: "stopped", phase: "load", detail: `status ${before.status} after the load` };
    }
    const console0 = await q.serialBytes();
    await q.qmp.execute("cont", undefined, loadMs);
    const ended = await within(q.exited, runMs);
    if (ended) {
      await q.settleStderr();
      return crashedOrStopped(q, "run");
    }
    const after = await q.qmp.execute("query-status", undefined, loadMs) as { status: string };
    const consoleBytes = (await q.serialBytes()) - console0;
    if (after.status !== "running") {
      return { class: "stopped", phase: "run", detail: `status ${after.status}`, consoleBytes };
    }
    return { class: "accepted", phase: "run", consoleBytes };
  } catch (e) {
    // QMP went away or stopped answering: died (crashed or exited) or hung.
    const exited = await within(q.exited, 1_000);
    if (exited) {
      await q.settleStderr();
      return crashedOrStopped(q, "run");
    }
    return { class: "hung", phase: "run", detail: (e as Error).message };
  }
}
