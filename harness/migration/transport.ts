/**
 * Where an outgoing migration stream goes: `file:` (a temporary file renamed into place only
 * when the stream is complete), `exec:` (a shell command's stdin) or `tcp:` (another snapshell,
 * or QEMU, listening). Every transport is paced to the bandwidth limit; `finish` makes the stream
 * final and reports the destination's verdict, `abort` drops it (no file appears, the command is
 * stopped, the connection is closed).
 * @module
 */
import { TransportError } from "../../migration/errors.ts";
import { fileSink } from "../../migration/stream/io.ts";
import { type DurableFile, openDurable } from "../../migration/stream/durable_file.ts";
import type { ByteSink } from "../../migration/stream/writer.ts";
import { MigrationCancelledError, raceCancel } from "./cancel.ts";
import { readShut } from "./return_path.ts";
import { type Clock, realClock, ThrottledSink } from "./sinks.ts";
import { formatMigrationUri, type MigrationUri } from "./uri.ts";

/** An open outgoing stream. */
export interface Outgoing {
  /** Where the stream writer sends its bytes. */
  readonly sink: ByteSink;
  /** The whole stream was written: make it final; throws a TransportError when that fails. */
  finish(): Promise<void>;
  /** Drop the stream (never throws). */
  abort(): Promise<void>;
  /**
   * The destination's messages (tcp only: QEMU's return path on the same socket), for postcopy:
   * read them, and close our sending side once the stream is complete.
   */
  readonly returnPath?: {
    read(into: Uint8Array): Promise<number | null>;
    closeWrite(): Promise<void>;
  };
}

/** How an outgoing transport behaves. */
export interface OutgoingOptions {
  /** Pace writes to this many bytes per second (none when undefined or infinite). */
  maxBandwidth?: number;
  /** Give up connecting after this long (tcp), ms. */
  connectTimeoutMs?: number;
  /** Wait this long for the destination's verdict after the last byte (tcp), ms. */
  verdictTimeoutMs?: number;
  /** Clock for pacing (tests). */
  clock?: Clock;
  /** Cancels connecting and pacing waits (Ctrl-C): they reject with MigrationCancelledError. */
  signal?: AbortSignal;
}

interface RawOutgoing {
  sink: ByteSink;
  finish(): Promise<void>;
  abort(): Promise<void>;
  returnPath?: Outgoing["returnPath"];
}

/**
 * Resolve or reject with `p`, or reject with a TransportError after `ms`, or with
 * MigrationCancelledError as soon as `signal` aborts (`p` goes on; its outcome is ignored).
 */
export async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await raceCancel(
      Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TransportError(`${what}: no answer within ${ms / 1000} s`)),
            ms,
          );
        }),
      ]),
      signal,
    );
  } finally {
    clearTimeout(timer);
  }
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

async function openFile(path: string): Promise<RawOutgoing> {
  let out: DurableFile;
  try {
    out = await openDurable(path);
  } catch (e) {
    throw new TransportError(`Cannot write "${path}": ${message(e)}`, {}, { cause: e });
  }
  return {
    sink: fileSink(out.file),
    async finish() {
      try {
        await out.commit();
      } catch (e) {
        throw new TransportError(`Cannot write "${path}": ${message(e)}`, {}, { cause: e });
      }
    },
    abort: () => out.abort(),
  };
}

/** Whether `setsid` can put a command in a process group of its own (util-linux). */
let hasSetsid: boolean | undefined;

/**
 * Spawn `sh -c command`, in a process group of its own when `setsid` exists, so that
 * {@link killCommand} ends everything the command started; a command that cannot start is a
 * TransportError.
 */
export function spawnShell(
  command: string,
  io: { stdin: "piped" | "null"; stdout: "piped" | "null" },
): Deno.ChildProcess {
  const spawn = (program: string, args: string[]) =>
    new Deno.Command(program, { args, ...io, stderr: "piped" }).spawn();
  try {
    if (hasSetsid !== false) {
      try {
        const child = spawn("setsid", ["sh", "-c", command]);
        hasSetsid = true;
        return child;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        hasSetsid = false;
      }
    }
    return spawn("sh", ["-c", command]);
  } catch (e) {
    throw new TransportError(`Cannot run "${command}": ${message(e)}`, {}, { cause: e });
  }
}

/**
 * End a command we started and gave up on, with everything it started (`sleep` under `sh`), by
 * signalling its process group; wait until the shell is gone.
 */
export async function killCommand(child: Deno.ChildProcess): Promise<void> {
  if (hasSetsid) {
    try {
      Deno.kill(-child.pid, "SIGTERM");
    } catch { /* no group yet (setsid has not run) or already gone: the child itself below */ }
  }
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}

/** A child's stderr being collected: its text (last 2000 characters) once the pipe closes. */
export interface CollectedText {
  /** The text, when every writer closed the pipe. */
  text: Promise<string>;
  /** Stop reading (a grandchild may hold the pipe open long after the child died). */
  cancel(): void;
}

/** Collect a child's stderr text while it runs. */
export function collectText(stream: ReadableStream<Uint8Array>): CollectedText {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text = (text + decoder.decode(value, { stream: true })).slice(-4000);
      }
    } catch { /* cancelled */ }
    return text.trim().slice(-2000);
  })();
  return { text: done, cancel: () => void reader.cancel().catch(() => {}) };
}

function openExec(command: string): RawOutgoing {
  const child = spawnShell(command, { stdin: "piped", stdout: "null" });
  const stderr = collectText(child.stderr);
  const writer = child.stdin.getWriter();
  const failed = async (status: Deno.CommandStatus) => {
    const text = await stderr.text;
    return new TransportError(
      `exec:${command} exited with status ${status.code}${text ? `: ${text}` : ""}`,
    );
  };
  return {
    sink: {
      async write(chunk) {
        try {
          await writer.write(chunk);
        } catch (e) {
          // The command stopped reading: its exit status and stderr say why.
          const status = await withTimeout(child.status, 2000, "exec").catch(() => null);
          if (status && !status.success) throw await failed(status);
          throw e;
        }
      },
    },
    async finish() {
      await writer.close().catch(() => {});
      const status = await child.status;
      if (!status.success) throw await failed(status);
    },
    async abort() {
      const killed = killCommand(child);
      await writer.abort().catch(() => {});
      await killed;
      stderr.cancel();
    },
  };
}

async function openTcp(
  host: string,
  port: number,
  opts: OutgoingOptions,
): Promise<RawOutgoing> {
  const where = formatMigrationUri({ kind: "tcp", host, port });
  let conn: Deno.TcpConn;
  const connecting = Deno.connect({ hostname: host, port });
  try {
    conn = await withTimeout(
      connecting,
      opts.connectTimeoutMs ?? 10_000,
      `Connecting to ${where}`,
      opts.signal,
    );
  } catch (e) {
    connecting.then((c) => c.close(), () => {});
    if (e instanceof TransportError || e instanceof MigrationCancelledError) throw e;
    throw new TransportError(`Cannot connect to ${where}: ${message(e)}`, {}, { cause: e });
  }
  let open = true;
  const close = () => {
    if (open) conn.close();
    open = false;
  };
  return {
    sink: {
      async write(chunk) {
        let off = 0;
        while (off < chunk.length) off += await conn.write(chunk.subarray(off));
      },
    },
    async finish() {
      try {
        await conn.closeWrite();
        const verdict = await withTimeout(
          readShut(conn, where),
          opts.verdictTimeoutMs ?? 120_000,
          `Waiting for ${where} to load the stream`,
        );
        if (verdict === "rejected") {
          throw new TransportError(`${where} rejected the stream (see its error)`);
        }
      } finally {
        close();
      }
    },
    abort() {
      close();
      return Promise.resolve();
    },
    returnPath: {
      read: (into) => conn.read(into),
      closeWrite: () => conn.closeWrite().catch(() => {}),
    },
  };
}

/** Open an outgoing stream to `uri`, paced to `maxBandwidth`. */
export async function openOutgoing(
  uri: MigrationUri,
  opts: OutgoingOptions = {},
): Promise<Outgoing> {
  const raw = uri.kind === "file"
    ? await openFile(uri.path)
    : uri.kind === "exec"
    ? openExec(uri.command)
    : await openTcp(uri.host, uri.port, opts);
  const bw = opts.maxBandwidth;
  const sink = bw !== undefined && Number.isFinite(bw)
    ? new ThrottledSink(raw.sink, bw, opts.clock ?? realClock, opts.signal)
    : raw.sink;
  return {
    sink,
    finish: () => raw.finish(),
    abort: () => raw.abort(),
    returnPath: raw.returnPath,
  };
}
