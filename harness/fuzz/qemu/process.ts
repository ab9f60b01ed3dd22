/**
 * One QEMU process ready for an incoming migration: started in its own process group with the
 * user's machine arguments plus `-S -incoming defer`, QMP on a loopback TCP connection QEMU makes
 * to a port we listen on (so "ready" is an event, not a poll; a unix socket would need a wider
 * `--allow-net` than the project's 127.0.0.1), the guest's serial port in a file, stderr kept for QEMU's own
 * error text; then `migrate-incoming` (tcp:127.0.0.1:0, or exec: reading a FIFO: inlet.ts) so it
 * waits for its stream before the case is ready (a warm start). Killing it kills the whole group
 * (with an `exec:` command QEMU started).
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { execUri, makeFifo, type QemuInlet, type QemuVia } from "./inlet.ts";
import { QmpClient, QmpError } from "./qmp.ts";

/** QEMU could not be started or did not get ready: the program, and what it said. */
export class QemuStartError extends Error {
  /** The host's fault (missing binary, bad arguments), never the stream's. */
  readonly kind = "environment";
  constructor(message: string, readonly stderr: string) {
    super(stderr ? `${message}: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : message);
    this.name = "QemuStartError";
  }
}

/** How a QEMU process ended. */
export interface QemuExit {
  code: number | null;
  signal: string | null;
}

/** Settings of {@link QemuProcess.start}. */
export interface QemuStartOptions {
  /** A private directory for the serial file (the caller removes it). */
  dir: string;
  /** Bound for start + QMP + migrate-incoming (default 20 s). */
  timeoutMs?: number;
  /** False: a source QEMU (no `-incoming`; paused at reset by `-S`). Default true. */
  incoming?: boolean;
  /** Back QEMU's malloc heap with transparent huge pages ({@link qemuEnv}); default false. */
  hugeHeap?: boolean;
  /** How the stream will reach it (default tcp). */
  via?: QemuVia;
}

/**
 * QEMU's environment: ours, plus (with `hugeHeap`) glibc's `malloc.hugetlb=1` tunable, which
 * backs QEMU's heap with transparent huge pages. A QEMU start is mostly page faults (device
 * models' zeroed allocations) and dynamic linking: this cuts its CPU time by about a third. It
 * changes where glibc places allocations, never what QEMU does with them.
 */
export function qemuEnv(hugeHeap: boolean): Record<string, string> | undefined {
  if (!hugeHeap) return undefined;
  const env = { ...process.env } as Record<string, string>;
  const tunables = env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:` : "";
  env.GLIBC_TUNABLES = `${tunables}glibc.malloc.hugetlb=1`;
  return env;
}

/** Arguments snapshell adds to the user's QEMU command line. */
export function incomingArgs(
  userArgs: readonly string[],
  qmpPort: number,
  serialPath: string,
  incoming = true,
): string[] {
  const extra = [
    "-S",
    ...(incoming ? ["-incoming", "defer"] : []),
    "-qmp",
    `tcp:127.0.0.1:${qmpPort}`,
  ];
  extra.push("-monitor", "none");
  const has = (flag: string) => userArgs.includes(flag);
  if (!has("-serial")) extra.push("-serial", `file:${serialPath}`);
  if (!has("-nographic") && !has("-display")) extra.push("-display", "none");
  return extra;
}

let serial = 0;

/** Every QEMU started and not yet ended: killed if this process is told to end. */
const running = new Set<QemuProcess>();
const ENDING_SIGNALS = [["SIGTERM", 143], ["SIGHUP", 129]] as const;
const onEnding = ENDING_SIGNALS.map(([sig, code]) =>
  [sig, () => {
    // QEMUs run in their own process groups (so a terminal's Ctrl-C does not reach them): a
    // batch system's SIGTERM to snapshell must end them too, or they wait for a stream forever.
    for (const q of running) q.kill();
    Deno.exit(code);
  }] as const
);

function track(q: QemuProcess): void {
  if (!running.size) { for (const [sig, f] of onEnding) Deno.addSignalListener(sig, f); }
  running.add(q);
}

function untrack(q: QemuProcess): void {
  if (!running.delete(q) || running.size) return;
  for (const [sig, f] of onEnding) Deno.removeSignalListener(sig, f);
}

/** A started QEMU waiting on a TCP port for its incoming migration. */
export class QemuProcess {
  private stderrText = "";
  /** Resolves when the process ended. */
  readonly exited: Promise<QemuExit>;
  private exitInfo?: QemuExit;
  /** Where its `migrate-incoming` reads the stream. */
  inlet!: QemuInlet;
  qmp!: QmpClient;

  private constructor(
    private readonly child: ChildProcess,
    /** The serial port's file. */
    readonly serialPath: string,
  ) {
    child.stderr?.on("data", (b: Uint8Array) => {
      if (this.stderrText.length < 65536) this.stderrText += new TextDecoder().decode(b);
    });
    track(this);
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        untrack(this);
        resolve(this.exitInfo);
      });
      child.on("error", (e) => {
        untrack(this);
        this.stderrText += `${e.message}\n`; // ENOENT: the program is not there
        this.exitInfo ??= { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  /** What QEMU wrote on stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  /** The exit, once it happened. */
  get exit(): QemuExit | undefined {
    return this.exitInfo;
  }

  /** The process id (also its process group). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Start `argv` (program and the user's machine arguments) for an incoming migration and get it
   * to wait on a port. Throws QemuStartError (after killing it) when that does not happen.
   */
  static async start(argv: readonly string[], opts: QemuStartOptions): Promise<QemuProcess> {
    const id = `${process.pid}-${++serial}`;
    const serialPath = `${opts.dir}/serial-${id}.txt`;
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let q: QemuProcess | undefined;
    try {
      const [program, ...args] = argv;
      const child = spawn(program, [
        ...args,
        ...incomingArgs(args, listener.addr.port, serialPath, opts.incoming ?? true),
      ], {
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
        env: qemuEnv(opts.hugeHeap ?? false),
      });
      q = new QemuProcess(child, serialPath);
      const accepted = listener.accept();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const first = await Promise.race([
        accepted,
        q.exited,
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs)),
      ]).finally(() => clearTimeout(timer));
      if (first === "timeout") {
        throw new QemuStartError(`${program} not ready in ${timeoutMs} ms`, q.stderr);
      }
      if (!("readable" in first)) {
        accepted.then((c) => c.close(), () => {});
        await q.settleStderr();
        throw new QemuStartError(`${program} exited (${describeExit(first)})`, q.stderr);
      }
      q.qmp = await QmpClient.open(first, timeoutMs);
      if (opts.incoming === false) return q;
      await q.qmp.execute("migrate-set-capabilities", {
        capabilities: [{ capability: "events", state: true }],
      });
      if (opts.via === "exec") {
        const fifo = `${opts.dir}/stream-${id}.fifo`;
        await makeFifo(fifo);
        const uri = execUri(fifo);
        await q.qmp.execute("migrate-incoming", { uri });
        q.inlet = { via: "exec", uri, fifo, gone: q.exited };
        return q;
      }
      await q.qmp.execute("migrate-incoming", { uri: "tcp:127.0.0.1:0" });
      const info = await q.qmp.execute("query-migrate") as {
        "socket-address"?: { port?: string }[];
      };
      const port = Number(info["socket-address"]?.[0]?.port ?? 0);
      if (!port) throw new QemuStartError("QEMU did not say which port it listens on", q.stderr);
      q.inlet = { via: "tcp", uri: `tcp:127.0.0.1:${port}`, port, gone: q.exited };
      return q;
    } catch (e) {
      q?.kill();
      if (q) await q.exited;
      if (e instanceof QmpError) throw new QemuStartError(e.message, q?.stderr ?? "");
      if ((e as { code?: string }).code === "ENOENT") {
        throw new QemuStartError(`${argv[0]}: not found`, "");
      }
      throw e;
    } finally {
      listener.close();
    }
  }

  /** Let the stderr pipe drain after an exit (its last bytes may arrive after `exit`). */
  async settleStderr(): Promise<void> {
    if (!this.child.stderr || this.child.stderr.readableEnded) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      this.child.stderr!.once("close", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Bytes the guest wrote to its serial port so far. */
  async serialBytes(): Promise<number> {
    try {
      return (await Deno.stat(this.serialPath)).size;
    } catch {
      return 0;
    }
  }

  /** SIGKILL the whole process group (QEMU and anything it started); idempotent. */
  kill(): void {
    this.qmp?.close();
    if (this.exitInfo || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }

  /** Kill it, wait for the exit, remove its serial file (and its inlet's FIFO). */
  async dispose(): Promise<void> {
    this.kill();
    await this.exited;
    await Deno.remove(this.serialPath).catch(() => {});
    if (this.inlet?.fifo) await Deno.remove(this.inlet.fifo).catch(() => {});
  }
}

/** `exit code 1` or `signal SIGABRT`. */
export function describeExit(e: QemuExit): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}
