/**
 * The guest's progress in a QEMU run with `-icount`, so verdicts depend on what the guest did and
 * not on how fast the host let QEMU run: the instructions it executed (QMP `query-replay`, QEMU's
 * instruction counter, which is exact and only counts while the vCPU runs) and whether QEMU has
 * nothing to run (no thread runnable, from `ps`: a starved QEMU's vCPU thread is runnable,
 * an idle one sleeps).
 * @module
 */
import type { QmpClient } from "./qmp.ts";

/** The `-icount` word in a QEMU command line: the run is measured in guest instructions. */
export function usesIcount(argv: readonly string[]): boolean {
  return argv.includes("-icount");
}

/** Instructions the guest has executed so far (QEMU's icount; 0 without `-icount`). */
export async function guestInsns(qmp: QmpClient, timeoutMs: number): Promise<number> {
  const r = await qmp.execute("query-replay", undefined, timeoutMs) as { icount?: number };
  return Number(r.icount ?? 0);
}

/** QEMU's threads but its main one (the vCPU and worker threads), as `ps -L` sees them. */
export interface QemuThreads {
  /** One of them is runnable (state R): a starved vCPU, or a busy one. */
  runnable: boolean;
  /** CPU time they used so far, in whole seconds (`ps` TIMES). */
  cpuSeconds: number;
}

/**
 * The state of process `pid`'s threads but its main one, asked of `ps -L` (Deno reads /proc/PID
 * only with every permission); undefined when that cannot tell (no `ps`, the process gone). The
 * main thread is left out: it answers the QMP commands that sample the run, so it is often
 * runnable right then; the vCPU thread of a starved QEMU is runnable, an idle one sleeps, and a
 * spinning one (running without executing guest instructions) uses CPU time. Asked only when no
 * instruction ran since the last sample.
 */
export async function qemuThreads(pid: number | undefined): Promise<QemuThreads | undefined> {
  if (pid === undefined) return undefined;
  try {
    const out = await new Deno.Command("ps", {
      args: ["-L", "-o", "tid=,stat=,times=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const threads = new TextDecoder().decode(out.stdout).trim().split("\n")
      .map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3 && f[0] !== String(pid));
    if (!out.success || !threads.length) return undefined;
    return {
      runnable: threads.some(([, stat]) => stat.startsWith("R")),
      cpuSeconds: threads.reduce((n, [, , t]) => n + (Number(t) || 0), 0),
    };
  } catch {
    return undefined;
  }
}

/** True when no thread of `pid` but its main one is runnable ({@link qemuThreads}). */
export async function nothingRunnable(pid: number | undefined): Promise<boolean | undefined> {
  const t = await qemuThreads(pid);
  return t === undefined ? undefined : !t.runnable;
}
