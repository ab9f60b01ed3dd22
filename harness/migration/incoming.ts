/**
 * The destination side: take a stream from `file:`, `exec:` (a command's stdout) or `tcp:` (wait
 * for one connection), find the RAM size it announces, load it into a fresh machine built to
 * match, and answer the source on the TCP return path. The caller's current machine is never
 * touched: it is replaced only by a machine whose load was accepted, so a dropped connection or a
 * bad stream leaves the destination exactly as it was. An AbortSignal (Ctrl-C) cancels the wait
 * for a connection (the listener is closed) or the load (rolled back, the source told it was
 * rejected).
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { MigrationError, TransportError } from "../../migration/errors.ts";
import { probeRamLayout, type RamLayout } from "../../migration/ram/probe.ts";
import { RAM_MAX_SIZE } from "../../emu/ram.ts";
import type { LoadReport } from "../../migration/sections/loadvm.ts";
import {
  fileSource,
  type OpenedInput,
  openInput,
  readableSource,
} from "../../migration/stream/io.ts";
import { type ByteSource, StreamReader } from "../../migration/stream/reader.ts";
import { MigrationCancelledError, raceCancel } from "./cancel.ts";
import { encodeShut } from "./return_path.ts";
import {
  PostcopyIncoming,
  type PostcopyIncomingReport,
  type PostcopyRunOptions,
} from "./postcopy_incoming.ts";
import { collectText, killCommand, spawnShell, withTimeout } from "./transport.ts";
import { formatMigrationUri, type MigrationUri } from "./uri.ts";

/** An open incoming stream. */
interface IncomingStream {
  /** Where the bytes come from. */
  source: ByteSource;
  /** Tell the source the outcome (tcp); never throws. */
  answer(loaded: boolean): Promise<void>;
  /** Send return-path bytes to the source (tcp only; queued in order, never throws). */
  send?(bytes: Uint8Array): void;
  /**
   * Release everything (at once when `cancelled`); returns a TransportError to report instead of
   * a load error, if any.
   */
  close(cancelled?: boolean): Promise<TransportError | undefined>;
}

/** How to receive. */
export interface IncomingOptions {
  /** Give up waiting for a connection, or for the next bytes, after this long (ms). */
  timeoutMs?: number;
  /** Give up when no bytes come for this long once the stream flows (ms; default `timeoutMs`). */
  idleTimeoutMs?: number;
  /** Told the address once a tcp listener is bound (with the real port when 0 was asked). */
  onListening?: (uri: string) => void;
  /**
   * Told the bytes received so far and the expected total: the file's size, else the RAM size
   * the stream announces once it is known (for progress bars).
   */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Cancels waiting and loading: MigrationCancelledError, nothing kept, the listener closed. */
  signal?: AbortSignal;
  /** How the guest runs here during a postcopy phase (it starts at MIG_CMD_POSTCOPY_RUN). */
  postcopy?: PostcopyRunOptions;
  /** Told when the source switched to postcopy: the guest runs here from now on. */
  onPostcopy?: () => void;
}

/** What an accepted migration produced. */
export interface IncomingResult<M extends Machine> {
  /** The loaded machine, ready to run. */
  machine: M;
  /** What the loader found. */
  report: LoadReport;
  /** RAM size announced by the stream, when it had a ram section. */
  ramBytes: number | undefined;
  /** Where it came from (the real port for tcp). */
  uri: string;
  /** Wall-clock seconds from the first byte to the accepted load. */
  seconds: number;
  /** The postcopy phase, when the source switched to postcopy (the guest already ran here). */
  postcopy?: PostcopyIncomingReport;
}

/** A source that fails with a TransportError when no bytes arrive for `ms`. */
function idleTimeout(inner: ByteSource, ms: number | undefined, where: string): ByteSource {
  if (ms === undefined) return inner;
  return {
    size: inner.size,
    read: (into) => withTimeout(inner.read(into), ms, `Reading from ${where}`),
  };
}

/** A source whose reads give up at once when `signal` aborts, and that counts what it delivers. */
function observed(
  inner: ByteSource,
  signal: AbortSignal | undefined,
  onBytes: (n: number) => void,
): ByteSource {
  return {
    size: inner.size,
    read: async (into) => {
      const n = await raceCancel(inner.read(into), signal, "incoming migration");
      if (n) onBytes(n);
      return n;
    },
  };
}

/** Records what it delivers until {@link rewind}, then replays it before the rest. */
class RewindableSource implements ByteSource {
  private recorded: Uint8Array[] = [];
  private replay: Uint8Array | null = null;
  private at = 0;
  constructor(private readonly inner: ByteSource) {}

  get size(): number | undefined {
    return this.inner.size;
  }

  async read(into: Uint8Array): Promise<number | null> {
    if (this.replay && this.at < this.replay.length) {
      const n = Math.min(into.length, this.replay.length - this.at);
      into.set(this.replay.subarray(this.at, this.at + n));
      this.at += n;
      return n;
    }
    const n = await this.inner.read(into);
    if (n !== null && !this.replay) this.recorded.push(into.slice(0, n));
    return n;
  }

  /** Start over from byte 0; stops recording. */
  rewind(): void {
    const total = this.recorded.reduce((s, c) => s + c.length, 0);
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of this.recorded) {
      all.set(c, off);
      off += c.length;
    }
    this.recorded = [];
    this.replay = all;
    this.at = 0;
  }
}

async function openFile(path: string): Promise<IncomingStream> {
  let file: OpenedInput;
  try {
    // `file:/dev/stdin` on a pipe: no length, read as a stream of unknown length.
    file = await openInput(path);
  } catch (e) {
    throw new TransportError(`Cannot open "${path}": ${(e as Error).message}`, {}, { cause: e });
  }
  return {
    source: fileSource(file, file.size),
    answer: () => Promise.resolve(),
    close: () => {
      file.close();
      return Promise.resolve(undefined);
    },
  };
}

function openExec(command: string, opts: IncomingOptions): IncomingStream {
  const child = spawnShell(command, { stdin: "null", stdout: "piped" });
  const stderr = collectText(child.stderr);
  const idle = opts.idleTimeoutMs ?? opts.timeoutMs;
  const source = idleTimeout(readableSource(child.stdout), idle, `exec:${command}`);
  return {
    source,
    answer: () => Promise.resolve(),
    async close(cancelled) {
      await child.stdout.cancel().catch(() => {});
      // A command that ended on its own with a failure explains a short stream; one still
      // running after a rejected (or cancelled) load is simply stopped.
      const status = cancelled
        ? null
        : await withTimeout(child.status, 2000, "exec").catch(() => null);
      if (!status) await killCommand(child);
      if (!status || status.success) {
        stderr.cancel();
        return undefined;
      }
      const text = await withTimeout(stderr.text, 2000, "stderr").catch(() => "");
      stderr.cancel();
      return new TransportError(
        `exec:${command} exited with status ${status.code}${text ? `: ${text}` : ""}`,
      );
    },
  };
}

async function openTcp(host: string, port: number, opts: IncomingOptions): Promise<IncomingStream> {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: host, port });
  } catch (e) {
    throw new TransportError(
      `Cannot listen on ${formatMigrationUri({ kind: "tcp", host, port })}: ${
        (e as Error).message
      }`,
      {},
      { cause: e },
    );
  }
  const where = formatMigrationUri({ kind: "tcp", host, port: listener.addr.port });
  opts.onListening?.(where);
  let conn: Deno.TcpConn | undefined;
  const accepting = listener.accept();
  try {
    conn = opts.timeoutMs === undefined
      ? await raceCancel(accepting, opts.signal, "incoming migration")
      : await withTimeout(
        accepting,
        opts.timeoutMs,
        `Waiting for a connection on ${where}`,
        opts.signal,
      );
  } finally {
    listener.close();
    // The pending accept ends with the listener; only then is the port really free. A
    // connection that arrived after a timeout or cancel is closed unread.
    const late = await accepting.catch(() => undefined);
    if (late && late !== conn) late.close();
  }
  const accepted = conn;
  let open = true;
  // Return-path messages and the final SHUT go out in order, one write after another.
  let sending: Promise<void> = Promise.resolve();
  const send = (bytes: Uint8Array) => {
    sending = sending.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await accepted.write(bytes.subarray(off));
    }).catch(() => {/* the source is gone; the stream's end says so */});
  };
  return {
    send,
    source: idleTimeout(
      { read: (into) => accepted.read(into) },
      opts.idleTimeoutMs ?? opts.timeoutMs,
      where,
    ),
    async answer(loaded) {
      send(encodeShut(loaded ? 0 : 1));
      await sending;
    },
    close() {
      if (open) accepted.close();
      open = false;
      return Promise.resolve(undefined);
    },
  };
}

async function openIncoming(uri: MigrationUri, opts: IncomingOptions): Promise<IncomingStream> {
  if (opts.signal?.aborted) throw new MigrationCancelledError("incoming migration");
  if (uri.kind === "file") return await openFile(uri.path);
  if (uri.kind === "exec") return openExec(uri.command, opts);
  return await openTcp(uri.host, uri.port, opts);
}

/**
 * Receive one migration from `uri` into a machine made by `destination(ramBytes, layout)` (the RAM
 * size the stream announces and its block list, or undefined when it has no ram section), or into `destination` itself
 * when it is a machine prepared before the stream arrives (its RAM preallocated, say; a stream
 * announcing another RAM size is then rejected). Throws a MigrationError (or a TransportError)
 * when anything fails, MigrationCancelledError when `opts.signal` aborts; no machine escapes a
 * failed or cancelled load (a prepared one is rolled back to its state before).
 */
export async function receiveMigration<M extends Machine>(
  uri: MigrationUri,
  destination: ((ramBytes: number | undefined, layout?: RamLayout) => M) | M,
  opts: IncomingOptions = {},
): Promise<IncomingResult<M>> {
  let where = formatMigrationUri(uri);
  const stream = await openIncoming(uri, {
    ...opts,
    onListening: (u) => {
      where = u;
      opts.onListening?.(u);
    },
  });
  const t0 = performance.now();
  const signal = opts.signal;
  let loaded = false;
  let failure: unknown;
  let received = 0;
  let total = stream.source.size;
  try {
    const source = new RewindableSource(
      observed(stream.source, signal, (n) => {
        received += n;
        opts.onProgress?.(received, total);
      }),
    );
    const layout = await probeRamLayout(StreamReader.fromSource(source, 4096), RAM_MAX_SIZE);
    total ??= layout?.total;
    source.rewind();
    const machine = typeof destination === "function"
      ? destination(layout?.total, layout)
      : destination;
    // A file is read ahead (its I/O overlaps the decoding); a pipe or socket only on demand.
    const reader = StreamReader.fromSource(source, 4 << 20, {
      readAhead: stream.source.size !== undefined,
    });
    let report: LoadReport;
    let postcopy: PostcopyIncomingReport | undefined;
    const pc = new PostcopyIncoming(machine, stream.send);
    try {
      report = await machine.load(reader, { onCommand: pc.onCommand });
      if (pc.running) {
        opts.onPostcopy?.();
        const ramId = report.sections.find((s) => s.idstr === "ram" && s.sectionId !== undefined)
          ?.sectionId;
        postcopy = await pc.run(reader, ramId ?? -1, opts.postcopy);
        report.bytes = reader.offset;
      }
    } finally {
      await reader.settle();
    }
    loaded = true;
    return {
      machine,
      report,
      postcopy,
      ramBytes: layout?.total,
      uri: where,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    // A read given up on cancel reaches here wrapped by the reader: say what really happened.
    failure = signal?.aborted ? new MigrationCancelledError("incoming migration") : e;
    throw failure;
  } finally {
    await stream.answer(loaded);
    const transportFailure = await stream.close(signal?.aborted && !loaded);
    // A command that failed explains a truncated stream better than the truncation does.
    if (!loaded && transportFailure && failure instanceof MigrationError) {
      transportFailure.locate({ offset: failure.offset });
      // deno-lint-ignore no-unsafe-finally
      throw transportFailure;
    }
  }
}
