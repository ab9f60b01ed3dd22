/**
 * Random access to a stream's bytes (a file or memory), for tools that need to look at or copy
 * arbitrary ranges after a first pass found where things are: the annotated hex dump, the HTML
 * map and corrupt, which streams its output from input ranges instead of loading the file.
 * @module
 */
import { TransportError } from "../errors.ts";

/** A stream whose bytes can be read at any offset. */
export interface ByteAccess {
  /** Display name (file path or `<memory>`). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer at the end); the result may be a view. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Release the file, if any. */
  close(): void;
}

/** Random access over bytes already in memory. */
export function bytesAccess(bytes: Uint8Array, name = "<memory>"): ByteAccess {
  return {
    name,
    size: bytes.length,
    read: (offset, length) => {
      const from = Math.min(Math.max(0, offset), bytes.length);
      return Promise.resolve(bytes.subarray(from, Math.min(bytes.length, from + length)));
    },
    close: () => {},
  };
}

/** Random access over a file, reading only the ranges asked for. */
export async function fileAccess(path: string): Promise<ByteAccess> {
  let file: Deno.FsFile;
  let size: number;
  try {
    file = await Deno.open(path, { read: true });
    size = (await file.stat()).size;
  } catch (e) {
    throw new TransportError(`Cannot open ${path}: ${(e as Error).message}`, {}, { cause: e });
  }
  return {
    name: path,
    size,
    async read(offset, length) {
      const from = Math.min(Math.max(0, offset), size);
      const out = new Uint8Array(Math.max(0, Math.min(size - from, length)));
      try {
        await file.seek(from, Deno.SeekMode.Start);
        let got = 0;
        while (got < out.length) {
          const n = await file.read(out.subarray(got));
          if (n === null) break;
          got += n;
        }
        return out.subarray(0, got);
      } catch (e) {
        throw new TransportError(`Reading ${path} failed: ${(e as Error).message}`, {
          offset: from,
        }, { cause: e });
      }
    },
    close: () => file.close(),
  };
}

/** Call `each` with consecutive chunks of `[offset, offset + length)`, at most `chunk` bytes each. */
export async function forEachChunk(
  access: ByteAccess,
  offset: number,
  length: number,
  each: (bytes: Uint8Array, at: number) => Promise<void> | void,
  chunk = 1024 * 1024,
): Promise<void> {
  let at = offset;
  const end = Math.min(access.size, offset + length);
  while (at < end) {
    const part = await access.read(at, Math.min(chunk, end - at));
    if (part.length === 0) break;
    await each(part, at);
    at += part.length;
  }
}
