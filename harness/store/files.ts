/**
 * The file primitives the snapshot store is built on: every write goes through the durable
 * atomic writer (`migration/stream/durable_file.ts`: temp file, fsync, rename, fsync the
 * directory), so a crash at any point leaves either the old file or the new one. Copies and saves
 * compute a SHA-256 of exactly the bytes that reach the disk.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { ByteSink } from "../../migration/stream/writer.ts";
import { writeDurable } from "../../migration/stream/durable_file.ts";
import { type OpenedInput, openInput } from "../../migration/stream/io.ts";
import { StoreError } from "./errors.ts";

/** Called as bytes move: bytes done so far and the total when known. */
export type ByteProgress = (done: number, total?: number) => void;

const CHUNK = 1 << 20;

export { baseOf, dirOf, syncDir, tempPathFor } from "../../migration/stream/durable_file.ts";

/** Turn a Deno file-system error into a StoreError naming the action and the file. */
export function ioError(action: string, path: string, e: unknown, snapshot?: string): StoreError {
  if (e instanceof StoreError) return e;
  const why = e instanceof Error ? e.message : String(e);
  const reason = e instanceof Deno.errors.NotFound ? "not-found" : "io";
  return new StoreError(reason, `Cannot ${action} "${path}": ${why}`, { path, snapshot }, {
    cause: e,
  });
}

/** Open `path` for reading; a failure is a StoreError saying what could not be done. */
export async function openForReading(
  path: string,
  action = "read",
  snapshot?: string,
): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    throw ioError(action, path, e, snapshot);
  }
}

/** A sink that forwards to `inner` while hashing and counting what passes. */
export function hashingSink(
  inner: ByteSink,
  onProgress?: ByteProgress,
): ByteSink & { hash: Hash; bytes: number } {
  const hash = createHash("sha256");
  const sink = {
    hash,
    bytes: 0,
    async write(chunk: Uint8Array) {
      await inner.write(chunk);
      hash.update(chunk);
      sink.bytes += chunk.length;
      onProgress?.(sink.bytes);
    },
  };
  return sink;
}

/** Write `dest` through `fill` with the durable atomic writer; cleans up on error. */
export const writeAtomic = writeDurable;

/** Write a small file (metadata) atomically. */
export async function writeFileAtomic(dest: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeAtomic(dest, async (f) => {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
    });
  } catch (e) {
    throw ioError("write", dest, e);
  }
}

/** SHA-256 (hex) and size of a file, read in chunks. */
export async function hashFile(
  path: string,
  onProgress?: ByteProgress,
): Promise<{ sha256: string; bytes: number }> {
  const file = await openForReading(path);
  try {
    const total = (await file.stat()).size;
    const hash = createHash("sha256");
    const buf = new Uint8Array(CHUNK);
    let bytes = 0;
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
      bytes += n;
      onProgress?.(bytes, total);
    }
    return { sha256: hash.digest("hex"), bytes };
  } finally {
    file.close();
  }
}

/** Copy `src` to `dest` atomically, hashing the bytes copied; `dest` is untouched on error. */
export async function copyFileAtomic(
  src: string,
  dest: string,
  onProgress?: ByteProgress,
): Promise<{ sha256: string; bytes: number }> {
  let input: OpenedInput;
  try {
    // Read once, as a stream: `src` may be a pipe, a FIFO or standard input.
    input = await openInput(src);
  } catch (e) {
    throw ioError("read", src, e);
  }
  try {
    const total = input.size;
    return await writeAtomic(dest, async (out) => {
      const hash = createHash("sha256");
      const buf = new Uint8Array(CHUNK);
      let bytes = 0;
      for (;;) {
        const n = await input.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await out.write(buf.subarray(off, n));
        hash.update(buf.subarray(0, n));
        bytes += n;
        onProgress?.(bytes, total);
      }
      return { sha256: hash.digest("hex"), bytes };
    });
  } catch (e) {
    throw ioError("copy to", dest, e);
  } finally {
    input.close();
  }
}
