/**
 * Where the inspector reads a stream from. It may need two passes (the schema sits at the end)
 * and a look at the tail, so an input is something that can be reopened, not a one-shot stream.
 * @module
 */
import { TransportError } from "../errors.ts";
import { bytesSource, isStdinPath } from "../stream/io.ts";
import { type ByteSource, StreamReader } from "../stream/reader.ts";

/** A re-readable stream: a file or bytes in memory. */
export interface InspectInput {
  /** Display name (file path or `<memory>`). */
  readonly name: string;
  /** Total size in bytes, when known. */
  readonly size?: number;
  /** A fresh reader positioned at byte 0; call `close` when done. */
  open(): Promise<{ reader: StreamReader; close(): void }>;
  /** The last `n` bytes (fewer if the stream is shorter); absent for unseekable inputs. */
  tail?(n: number): Promise<Uint8Array>;
}

/**
 * The reader's buffer for a file: big enough that reads cost little, small enough that touching
 * fresh memory (slow on a VM: ~3 ms a MiB) does not cost more than decoding a small stream.
 */
const READ_CHUNK = 256 * 1024;

/**
 * Inspect a file by path, streaming it (RAM can be GiBs) and seeking only for the tail; a pipe
 * or device is a TransportError saying a seekable file is needed.
 */
export async function fileInput(path: string): Promise<InspectInput> {
  let size: number;
  try {
    const st = isStdinPath(path) ? undefined : await Deno.stat(path);
    if (!st?.isFile) {
      // The schema (vmdesc) is at the end: inspecting reads the stream twice and seeks.
      throw new TransportError(
        `inspect needs a seekable file: "${path}" is a pipe or device; save it to a file first`,
      );
    }
    size = st!.size;
  } catch (e) {
    if (e instanceof TransportError) throw e;
    throw new TransportError(`Cannot open ${path}: ${(e as Error).message}`, {}, { cause: e });
  }
  return {
    name: path,
    size,
    open() {
      const file = Deno.openSync(path, { read: true });
      return Promise.resolve({
        reader: StreamReader.fromSource(syncFileSource(file, size), READ_CHUNK),
        close: () => file.close(),
      });
    },
    tail(n: number) {
      const want = Math.min(n, size);
      const out = new Uint8Array(want);
      using file = Deno.openSync(path, { read: true });
      file.seekSync(size - want, Deno.SeekMode.Start);
      let got = 0;
      while (got < want) {
        const k = file.readSync(out.subarray(got));
        if (k === null) break;
        got += k;
      }
      return Promise.resolve(out.subarray(0, got));
    },
  };
}

/**
 * A source reading a regular file synchronously: from the page cache a read costs microseconds,
 * and the asynchronous read's hop through a thread pool cost `inspect` more than the decoding.
 */
function syncFileSource(file: Deno.FsFile, size: number): ByteSource {
  return { size, read: (into) => Promise.resolve(file.readSync(into)) };
}

/** Inspect bytes in memory; `chunk` exercises the streaming refill path in tests. */
export function bytesInput(bytes: Uint8Array, chunk = 1024 * 1024): InspectInput {
  return {
    name: "<memory>",
    size: bytes.length,
    open() {
      const reader = StreamReader.fromSource(
        bytesSource(bytes, chunk),
        Math.min(chunk, 1024 * 1024),
      );
      return Promise.resolve({ reader, close: () => {} });
    },
    tail(n: number) {
      return Promise.resolve(bytes.subarray(Math.max(0, bytes.length - n)));
    },
  };
}
