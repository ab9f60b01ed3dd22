/**
 * Snapshot files on disk: atomic writes (temp file, fsync, rename, so a failed save never
 * damages an existing file) and streaming loads into a machine built to match the stream's RAM
 * layout. Both report the figures `--stats` prints.
 * @module
 */
import { TransportError } from "../migration/errors.ts";
import { probeRamLayout } from "../migration/ram/probe.ts";
import type { LoadReport } from "../migration/sections/loadvm.ts";
import { fileSink, fileSource } from "../migration/stream/io.ts";
import { StreamReader } from "../migration/stream/reader.ts";
import { StreamWriter } from "../migration/stream/writer.ts";
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

/** Peak RSS from /proc/self/status, or the current RSS where that is unavailable. */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
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

/** Save `m` to `path` atomically; the previous file, if any, survives any failure. */
export async function saveMachineFile(m: Machine, path: string): Promise<TransferStats> {
  const t0 = performance.now();
  const tmp = `${path}.tmp-${Deno.pid}`;
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    const w = new StreamWriter(fileSink(file));
    await m.save(w);
    await file.sync();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
    return stats(w.offset, t0);
  } catch (e) {
    file?.close();
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      throw new TransportError(`Cannot write snapshot "${path}": ${(e as Error).message}`, {}, {
        cause: e,
      });
    }
    throw e;
  }
}

/** Open a snapshot file as a streaming reader (size known, so lengths are checked). */
export async function openSnapshot(
  path: string,
): Promise<{ reader: StreamReader; close: () => void }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new TransportError(`Cannot open snapshot "${path}": ${(e as Error).message}`, {}, {
      cause: e,
    });
  }
  const size = (await file.stat()).size;
  // 4 MiB reads: fewer refills, and a device section of a few MiB decodes without restarts.
  const reader = StreamReader.fromSource(fileSource(file, size), 4 << 20);
  return { reader, close: () => file.close() };
}

/** RAM size announced by a snapshot file, or undefined. */
export async function snapshotRamSize(path: string): Promise<number | undefined> {
  const { reader, close } = await openSnapshot(path);
  try {
    return (await probeRamLayout(reader))?.total;
  } finally {
    close();
  }
}

/** Load `path` into `m`; on error `m` is unchanged and the error is a MigrationError. */
export async function loadMachineFile(
  m: Machine,
  path: string,
): Promise<{ report: LoadReport; stats: TransferStats }> {
  const t0 = performance.now();
  const { reader, close } = await openSnapshot(path);
  try {
    const report = await m.load(reader);
    return { report, stats: stats(report.bytes, t0) };
  } finally {
    close();
  }
}
