/**
 * Snapshot files on disk: atomic writes (temp file, fsync, rename, so a failed save never
 * damages an existing file) and streaming loads into a machine built to match the stream's RAM
 * layout. Both report the figures `--stats` prints.
 * @module
 */
import process from "node:process";
import { TransportError } from "../migration/errors.ts";
import { probeRamLayout } from "../migration/ram/probe.ts";
import { RAM_MAX_SIZE } from "./ram.ts";
import type { LoadReport } from "../migration/sections/loadvm.ts";
import { writeDurable } from "../migration/stream/durable_file.ts";
import {
  fileSink,
  fileSource,
  isRegularFile,
  isStdinPath,
  type OpenedInput,
  openInput,
  peekStdin,
} from "../migration/stream/io.ts";
import { StreamReader } from "../migration/stream/reader.ts";
import { type ByteSink, StreamWriter } from "../migration/stream/writer.ts";
import type { Machine } from "./machine.ts";

/** Figures of one save or load. */
export interface TransferStats {
  /** Stream bytes written or read. */
  bytes: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Throughput in MB/s (10^6 bytes). */
  mbPerSecond: number;
  /** Peak resident set size of this process so far (Linux VmHWM), in bytes. */
  peakRssBytes: number;
}

/**
 * Peak RSS of this process (getrusage's ru_maxrss, the kernel's VmHWM), or the current RSS where
 * that is unavailable. (Not /proc/self/status: Deno 2.9 wants all permissions to read /proc.)
 */
export function peakRssBytes(): number {
  try {
    const kib = process.resourceUsage().maxRSS;
    if (kib > 0) return kib * 1024;
  } catch { /* not provided here */ }
  return Deno.memoryUsage().rss;
}

function stats(bytes: number, t0: number): TransferStats {
  const seconds = (performance.now() - t0) / 1000;
  return {
    bytes,
    seconds,
    mbPerSecond: seconds > 0 ? bytes / 1e6 / seconds : 0,
    peakRssBytes: peakRssBytes(),
  };
}

/** Told the stream bytes moved so far (and the total, when known), for progress bars. */
export type FileProgress = (bytes: number, total?: number) => void;

/** A sink that counts what passes on to `inner`. */
function countingSink(inner: ByteSink, onProgress: FileProgress): ByteSink {
  let bytes = 0;
  return {
    async write(chunk) {
      await inner.write(chunk);
      bytes += chunk.length;
      onProgress(bytes);
    },
  };
}

/** Save `m` to `path` atomically; the previous file, if any, survives any failure. */
export async function saveMachineFile(
  m: Machine,
  path: string,
  onProgress?: FileProgress,
): Promise<TransferStats> {
  const t0 = performance.now();
  try {
    // The durable atomic writer: temp file beside `path`, fsync, rename, fsync the directory.
    const written = await writeDurable(path, async (file) => {
      const sink = fileSink(file);
      const w = new StreamWriter(onProgress ? countingSink(sink, onProgress) : sink);
      await m.save(w);
      return w.offset;
    });
    return stats(written, t0);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      throw new TransportError(`Cannot write snapshot "${path}": ${(e as Error).message}`, {}, {
        cause: e,
      });
    }
    throw e;
  }
}

/** How {@link openSnapshot} reads. */
export interface OpenSnapshotOptions {
  /** Told the bytes read so far and the file's size. */
  onProgress?: FileProgress;
  /** Overlap reading with decoding (a whole load; not for a probe that stops early). */
  readAhead?: boolean;
}

/**
 * Open a snapshot file as a streaming reader (size known, so lengths are checked); `close`
 * waits for a read still in flight, then closes the file.
 */
export async function openSnapshot(
  path: string,
  opts: OpenSnapshotOptions = {},
): Promise<{ reader: StreamReader; close: () => Promise<void> }> {
  const onProgress = opts.onProgress;
  let file: OpenedInput;
  try {
    // A pipe (`cat snap | ... /dev/stdin`) has no length: it is read as a stream of unknown length.
    file = await openInput(path);
  } catch (e) {
    throw new TransportError(`Cannot open snapshot "${path}": ${(e as Error).message}`, {}, {
      cause: e,
    });
  }
  const size = file.size;
  let source = fileSource(file, size);
  if (onProgress) {
    const inner = source;
    let bytes = 0;
    source = {
      size,
      read: async (into) => {
        const n = await inner.read(into);
        if (n) onProgress(bytes += n, size);
        return n;
      },
    };
  }
  // 4 MiB reads: fewer refills, and a device section of a few MiB decodes without restarts.
  // Read ahead only from a file: a read left in flight on a pipe could wait for ever.
  const reader = StreamReader.fromSource(source, 4 << 20, {
    readAhead: opts.readAhead && size !== undefined,
  });
  return {
    reader,
    close: async () => {
      await reader.settle();
      file.close();
    },
  };
}

/** RAM size announced by a snapshot file, or undefined (also for a pipe, which is not probed). */
export async function snapshotRamSize(path: string): Promise<number | undefined> {
  // Standard input is peeked (its bytes are given back for the load); another pipe or a FIFO
  // can be read only once, so it is left for the load (the machine's size is used).
  if (isStdinPath(path)) {
    return await peekStdin(async (source) =>
      (await probeRamLayout(StreamReader.fromSource(source, 4096), RAM_MAX_SIZE))?.total
    );
  }
  if (!(await isRegularFile(path).catch(() => true))) return undefined;
  const { reader, close } = await openSnapshot(path);
  try {
    return (await probeRamLayout(reader, RAM_MAX_SIZE))?.total;
  } finally {
    await close();
  }
}

/** Load `path` into `m`; on error `m` is unchanged and the error is a MigrationError. */
export async function loadMachineFile(
  m: Machine,
  path: string,
  onProgress?: FileProgress,
): Promise<{ report: LoadReport; stats: TransferStats }> {
  const t0 = performance.now();
  const { reader, close } = await openSnapshot(path, { onProgress, readAhead: true });
  try {
    const report = await m.load(reader);
    return { report, stats: stats(report.bytes, t0) };
  } finally {
    await close();
  }
}
