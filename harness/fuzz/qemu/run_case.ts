/**
 * One stream into one warm QEMU and its verdict: the bytes go where its `migrate-incoming` reads
 * (a port or an `exec:` command's pipe: inlet.ts); then the MIGRATION event (completed / failed) or the process's exit decides. An
 * accepted load is asked `query-status`, resumed with `cont`, and watched until the guest has made
 * a fixed amount of progress: with `-icount` in QEMU's arguments, a number of guest instructions
 * (or the guest going idle for good), so the verdict is the same on a fast or a starved host;
 * without it, a wall-clock time (host-speed dependent, kept for old seeds). A QEMU that refused
 * exits by itself with its error text on stderr; one that dies on a signal crashed. Only QEMU
 * answering no QMP at all within a long bound is hung; a load or run that outlasts the wall-time
 * safety net while QEMU still answers is classified on what was seen and flagged `safetyNet`.
 * @module
 */
import { keyLine, type QemuOutcome } from "./outcome.ts";
import { describeExit, type QemuProcess } from "./process.ts";
import { guestInsns, qemuThreads } from "./progress.ts";
import { type QemuInlet, sendAll } from "./inlet.ts";
import { QmpError } from "./qmp.ts";

/** Bounds of one case. */
export interface CaseBounds {
  /** Wait this long for the load's verdict before asking QMP whether QEMU still answers (10,000 ms). */
  loadMs?: number;
  /** QEMU answering no QMP command for this long is hung (default 60,000 ms, wall-clock). */
  qmpMs?: number;
  /** Without `-icount`: how long an accepted guest runs after `cont` (default 300 wall-clock ms). */
  runMs?: number;
  /** With `-icount`: guest instructions an accepted guest runs after `cont` (default 5,000,000). */
  runInsns?: number;
  /** QEMU runs with `-icount` (the pool sets it from the command line). */
  icount?: boolean;
  /**
   * Migrate QEMU's freshly loaded state back out (to a file, before `cont`) and return it as
   * the outcome's `resaved`: what QEMU made of the stream, for the differential oracle.
   */
  resave?: boolean;
}

/** Default guest instructions after `cont` (the ticker guest writes a byte every ~200,000). */
export const DEFAULT_RUN_INSNS = 5_000_000;
/** How often a run with `-icount` is sampled (a sampling rate only: no verdict depends on it). */
const POLL_MS = 20;
/** Consecutive samples with no instruction executed and nothing runnable: the guest is idle. */
const IDLE_SAMPLES = 5;
/**
 * CPU-seconds QEMU's vCPU threads may burn without executing one guest instruction before the run
 * ends as spinning (a QEMU livelock: the guest is frozen for good while its vCPU runs; a starved
 * vCPU waits for a core instead of using one).
 */
export const SPIN_CPU_SECONDS = 3;

const MIGRATION_END = new Set(["completed", "failed", "cancelled"]);

function crashedOrStopped(q: QemuProcess, phase: string, extra: Partial<QemuOutcome> = {}) {
  const e = q.exit!;
  const exit = describeExit(e);
  if (e.signal) {
    return {
      class: "crashed",
      phase,
      exit,
      detail: keyLine(q.stderr) || `signal ${e.signal}`,
      ...extra,
    } as QemuOutcome;
  }
  return {
    class: phase === "load" ? "rejected" : "stopped",
    phase,
    exit,
    detail: keyLine(q.stderr),
    ...extra,
  } as QemuOutcome;
}

/** `p`'s value, or undefined after `ms` (the timer is cleared either way). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The load's end: QEMU's MIGRATION status, "exited", or a hung / safety-net outcome. */
async function awaitLoad(
  q: QemuProcess,
  loadMs: number,
  qmpMs: number,
): Promise<string | QemuOutcome> {
  const t0 = performance.now();
  for (;;) {
    const verdict = await q.qmp.waitEvent(
      (e) => e.event === "MIGRATION" && MIGRATION_END.has(String(e.data?.status)),
      loadMs,
    );
    if (verdict) return String(verdict.data?.status);
    if (q.exit || q.qmp.closed) return "exited";
    // The load and QMP share QEMU's main loop: an answer means QEMU is slow (a starved host),
    // not stuck; no answer in qmpMs means the main loop is stuck in the load.
    let status: string;
    try {
      const m = await q.qmp.execute("query-migrate", undefined, qmpMs) as { status?: string };
      status = String(m.status ?? "none");
    } catch (e) {
      if (await within(q.exited, 1_000)) return "exited";
      return { class: "hung", phase: "load", detail: (e as Error).message };
    }
    if (MIGRATION_END.has(status)) return status;
    const waited = performance.now() - t0;
    if (waited > 2 * qmpMs) {
      return {
        class: "hung",
        phase: "load",
        detail: `load still ${status} (QMP answers)`,
        safetyNet: `load not finished in ${Math.round(waited)} ms`,
      };
    }
  }
}

/** Delivers a case's bytes to a waiting QEMU's inlet (wire.ts: through the fault engine). */
export type QemuSender = (inlet: QemuInlet, bytes: Uint8Array) => Promise<void>;

/**
 * Run one case on `q` (which is used up: the caller disposes of it) and classify it; `sender`
 * delivers the bytes to QEMU's inlet (default: all of them, then close).
 */
export async function runQemuCase(
  q: QemuProcess,
  bytes: Uint8Array,
  bounds: CaseBounds = {},
  sender: QemuSender = sendAll,
): Promise<QemuOutcome> {
  const loadMs = bounds.loadMs ?? 10_000;
  const qmpMs = bounds.qmpMs ?? 60_000;
  // A sender's own failure (a write QEMU stopped taking) is QEMU's verdict to give, not ours.
  const sent = sender(q.inlet, bytes).catch(() => {});
  const status = await awaitLoad(q, loadMs, qmpMs);
  if (typeof status !== "string") return status;
  if (status !== "completed") {
    // QEMU exits after a failed incoming migration: wait for that (bounded), then read why.
    const exited = await within(q.exited, status === "exited" ? 1_000 : qmpMs);
    if (!exited) {
      return { class: "hung", phase: "exit", detail: `load ${status} but QEMU did not exit` };
    }
    await sent;
    await q.settleStderr();
    return crashedOrStopped(q, "load");
  }
  await sent;
  try {
    const before = await q.qmp.execute("query-status", undefined, qmpMs) as { status: string };
    if (before.status !== "paused") {
      return { class: "stopped", phase: "load", detail: `status ${before.status} after the load` };
    }
    const resaved = bounds.resave ? await resave(q, qmpMs) : undefined;
    const console0 = await q.serialBytes();
    const o = bounds.icount
      ? await runByInsns(q, console0, bounds.runInsns ?? DEFAULT_RUN_INSNS, qmpMs)
      : await runByWallClock(q, console0, bounds.runMs ?? 300, qmpMs);
    return resaved ? { ...o, resaved } : o;
  } catch (e) {
    if (!(e instanceof QmpError)) throw e;
    // QMP went away or stopped answering: died (crashed or exited) or hung.
    const exited = await within(q.exited, 1_000);
    if (exited) {
      await q.settleStderr();
      return crashedOrStopped(q, "run");
    }
    return { class: "hung", phase: "run", detail: e.message };
  }
}

/**
 * QEMU's loaded (paused) state migrated out to a file next to its serial file, read back and
 * removed; undefined when QEMU could not save it (that is left to the run to show).
 */
async function resave(q: QemuProcess, qmpMs: number): Promise<Uint8Array | undefined> {
  const path = q.serialPath.replace(/serial-([^/]*)\.txt$/, "resave-$1.qemu");
  try {
    await q.qmp.execute("migrate", { uri: `exec:cat > '${path}'` }, qmpMs);
    const ev = await q.qmp.waitEvent(
      (e) => e.event === "MIGRATION" && MIGRATION_END.has(String(e.data?.status)),
      2 * qmpMs,
    );
    if (ev?.data?.status !== "completed") return undefined;
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof QmpError) throw e;
    return undefined;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** The old verdict (no `-icount`): `runMs` of wall-clock time after `cont`. */
async function runByWallClock(
  q: QemuProcess,
  console0: number,
  runMs: number,
  qmpMs: number,
): Promise<QemuOutcome> {
  await q.qmp.execute("cont", undefined, qmpMs);
  if (await within(q.exited, runMs)) {
    await q.settleStderr();
    return crashedOrStopped(q, "run");
  }
  const after = await q.qmp.execute("query-status", undefined, qmpMs) as { status: string };
  const consoleBytes = (await q.serialBytes()) - console0;
  if (after.status !== "running") {
    return { class: "stopped", phase: "run", detail: `status ${after.status}`, consoleBytes };
  }
  return { class: "accepted", phase: "run", consoleBytes };
}

/**
 * With `-icount`: run until the guest executed `runInsns` instructions after `cont`, or went
 * idle for good (no instruction over {@link IDLE_SAMPLES} samples while no QEMU thread was
 * runnable: nothing will wake it), or stopped, or QEMU ended. A wall-clock safety net of twice
 * `qmpMs` ends a run that a starved host did not let finish (flagged `safetyNet`).
 */
async function runByInsns(
  q: QemuProcess,
  console0: number,
  runInsns: number,
  qmpMs: number,
): Promise<QemuOutcome> {
  const i0 = await guestInsns(q.qmp, qmpMs);
  await q.qmp.execute("cont", undefined, qmpMs);
  const t0 = performance.now();
  let last = i0;
  let still = 0;
  let idle = false;
  let safetyNet: string | undefined;
  let spinning = false;
  /** The vCPU threads' CPU time when the current stretch without guest progress began. */
  let spinFrom: number | undefined;
  for (;;) {
    if (await within(q.exited, POLL_MS)) {
      await q.settleStderr();
      return crashedOrStopped(q, "run", { guestInsns: last - i0 });
    }
    const s = await q.qmp.execute("query-status", undefined, qmpMs) as { status: string };
    const now = await guestInsns(q.qmp, qmpMs);
    if (s.status !== "running") {
      const consoleBytes = (await q.serialBytes()) - console0;
      return {
        class: "stopped",
        phase: "run",
        detail: `status ${s.status}`,
        consoleBytes,
        guestInsns: now - i0,
      };
    }
    if (now - i0 >= runInsns) {
      last = now;
      break;
    }
    let idleNow = false;
    if (now === last) {
      const threads = await qemuThreads(q.pid);
      idleNow = threads?.runnable === false;
      if (threads) {
        spinFrom ??= threads.cpuSeconds;
        if (threads.cpuSeconds - spinFrom >= SPIN_CPU_SECONDS) {
          safetyNet = `no guest instruction while QEMU's vCPU threads used ` +
            `${threads.cpuSeconds - spinFrom} CPU-seconds (spinning; ${now - i0} of ${runInsns} ` +
            `guest instructions ran)`;
          spinning = true;
          break;
        }
      }
    } else spinFrom = undefined;
    still = idleNow ? still + 1 : 0;
    last = now;
    if (still >= IDLE_SAMPLES) {
      idle = true;
      break;
    }
    const waited = performance.now() - t0;
    if (waited > 2 * qmpMs) {
      safetyNet = `${now - i0} of ${runInsns} guest instructions in ${Math.round(waited)} ms`;
      break;
    }
  }
  const consoleBytes = (await q.serialBytes()) - console0;
  return {
    class: "accepted",
    phase: "run",
    consoleBytes,
    guestInsns: last - i0,
    ...(idle ? { idle: true } : {}),
    ...(safetyNet ? { safetyNet } : {}),
    ...(spinning ? { spinning: true } : {}),
  };
}
