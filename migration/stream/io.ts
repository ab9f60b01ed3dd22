/**
 * Adapters between Deno's files and streams and the reader/writer's source/sink interfaces.
 * @module
 */
import type { ByteSource } from "./reader.ts";
import type { ByteSink } from "./writer.ts";

/** A source over an open Deno file; its size lets the reader reject impossible lengths early. */
export function fileSource(
  file: { read(into: Uint8Array): Promise<number | null> },
  size?: number,
): ByteSource {
  return {
    size,
    read: (into) => file.read(into),
  };
}

/**
 * The length of an open file when it is a regular file; undefined for a pipe, FIFO, terminal or
 * socket, whose stat size (0) says nothing about the stream: read those as streams of unknown
 * length.
 */
export async function streamLength(file: Deno.FsFile): Promise<number | undefined> {
  const st = await file.stat();
  return st.isFile ? st.size : undefined;
}

/** Paths that mean this process's standard input. */
const STDIN_PATHS = new Set(["-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]);

/** Whether `path` names this process's standard input (`-`, `/dev/stdin`). */
export function isStdinPath(path: string): boolean {
  return STDIN_PATHS.has(path);
}

/** Whether `path` names a regular file (seekable, re-openable); false for pipes and devices. */
export async function isRegularFile(path: string): Promise<boolean> {
  if (isStdinPath(path)) return false;
  return (await Deno.stat(path)).isFile;
}

/** Bytes of standard input read by a probe and given back, for the next reader to take first. */
let stdinPushback: Uint8Array = new Uint8Array(0);

/** Read standard input, the bytes given back by {@link peekStdin} first. */
async function readStdin(into: Uint8Array): Promise<number | null> {
  if (stdinPushback.length > 0) {
    const n = Math.min(into.length, stdinPushback.length);
    into.set(stdinPushback.subarray(0, n));
    stdinPushback = stdinPushback.subarray(n);
    return n;
  }
  return await Deno.stdin.read(into);
}

/**
 * Let `probe` read the start of standard input (a pipe can be read only once), then give back
 * what it read, so the next {@link openInput} of stdin sees the stream from its first byte.
 */
export async function peekStdin<T>(probe: (source: ByteSource) => Promise<T>): Promise<T> {
  const seen: Uint8Array[] = [];
  try {
    return await probe({
      read: async (into) => {
        const n = await readStdin(into);
        if (n) seen.push(into.slice(0, n));
        return n;
      },
    });
  } finally {
    const back = new Uint8Array(seen.reduce((t, c) => t + c.length, 0) + stdinPushback.length);
    let at = 0;
    for (const c of seen) {
      back.set(c, at);
      at += c.length;
    }
    back.set(stdinPushback, at);
    stdinPushback = back;
  }
}

/** An input opened for streaming: its reads, its length when it has one, and its closing. */
export interface OpenedInput {
  /** Read up to `into.length` bytes; null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  /** The length of a regular file; undefined for a pipe, FIFO, terminal or socket. */
  readonly size?: number;
  /** Close it (standard input stays open). */
  close(): void;
}

/**
 * Open `path` to read it as a stream: a regular file has its length, anything else (a FIFO,
 * `/dev/stdin` on a pipe, `-`) is a stream of unknown length. Standard input is read through
 * Deno.stdin (opening `/dev/stdin` by path needs full permissions in Deno).
 */
export async function openInput(path: string): Promise<OpenedInput> {
  if (isStdinPath(path)) return { read: readStdin, close: () => {} };
  const file = await Deno.open(path, { read: true });
  let size: number | undefined;
  try {
    size = await streamLength(file);
  } catch (e) {
    file.close();
    throw e;
  }
  return { read: (into) => file.read(into), size, close: () => file.close() };
}

/** A source over bytes in memory, delivered in chunks (tests of the refill path). */
export function bytesSource(bytes: Uint8Array, chunk = bytes.length || 1): ByteSource {
  let at = 0;
  return {
    size: bytes.length,
    read(into) {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, chunk, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

/** A source over a web ReadableStream (sockets, child stdout); size unknown. */
export function readableSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array | null = null;
  return {
    async read(into) {
      if (!pending || pending.length === 0) {
        const { value, done } = await reader.read();
        if (done || !value) return null;
        pending = value;
      }
      const n = Math.min(into.length, pending.length);
      into.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

/** A sink writing fully to an open Deno file. */
export function fileSink(file: Deno.FsFile): ByteSink {
  return {
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    },
  };
}

/** A sink over a web WritableStream (sockets, child stdin). */
export function writableSink(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  return {
    async write(chunk) {
      // The stream may keep the chunk, and ours is reused after the promise settles.
      await writer.write(chunk.slice());
    },
  };
}

/** A sink that collects chunks in memory (tests, small streams). */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  private total = 0;
  /** Append a copy of the chunk. */
  write(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk.slice());
    this.total += chunk.length;
    return Promise.resolve();
  }
  /** All bytes written so far as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
