/**
 * Buffered writer for migration streams.
 *
 * Encoders write synchronously into a growable buffer and the framing layer flushes it to the
 * sink between items (and every few MiB inside the RAM section), so saving a large guest streams
 * out instead of building the whole file in memory.
 * @module
 */
import { TransportError } from "../errors.ts";

/** Where bytes go: a file, a socket, a program's stdin, or memory. */
export interface ByteSink {
  /** Write the whole chunk; the chunk may be reused by the caller after the promise settles. */
  write(chunk: Uint8Array): Promise<void>;
}

const encoder = new TextEncoder();
/**
 * Room past the flush threshold for what is written before the next flush check: the RAM saver
 * checks once per 32 pages (one bitmap word), 32 × (4096 + 8) bytes plus a block name.
 */
const SINK_HEADROOM = 256 * 1024;
/** Largest buffer allocated up front; a writer that flushes rarely (or never) grows instead. */
const MAX_STREAMING_BUFFER = 64 * 1024 * 1024;

/** Writes big-endian primitives and always knows the absolute offset of the next byte. */
export class StreamWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private flushedBytes = 0;
  private readonly sink?: ByteSink;
  /** The buffer a {@link flushBehind} handed to the sink, reusable once its write settled. */
  private spare: Uint8Array | null = null;
  private inflight: Promise<void> | null = null;
  private inflightError: unknown = null;
  /** Flush when this many bytes are buffered (only with a sink). */
  readonly flushThreshold: number;

  /**
   * A writer that flushes to `sink`; without one it keeps everything for {@link take}. With a
   * sink and a threshold of a few MiB the buffer starts at the threshold plus headroom, so
   * streaming RAM never stops to grow (and copy) it; untouched capacity costs no memory until
   * written.
   */
  constructor(sink?: ByteSink, initial = 64 * 1024, flushThreshold = 4 * 1024 * 1024) {
    this.sink = sink;
    const streaming = flushThreshold + SINK_HEADROOM;
    this.buf = new Uint8Array(
      sink && streaming <= MAX_STREAMING_BUFFER ? Math.max(initial, streaming) : initial,
    );
    this.view = new DataView(this.buf.buffer);
    this.flushThreshold = flushThreshold;
  }

  /** Absolute offset of the next byte written. */
  get offset(): number {
    return this.flushedBytes + this.pos;
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.pos;
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Write one byte. */
  u8(v: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  /** Write a big-endian 16-bit integer (signed or unsigned bits). */
  be16(v: number): void {
    if (this.pos + 2 > this.buf.length) this.grow(2);
    this.view.setUint16(this.pos, v & 0xffff);
    this.pos += 2;
  }

  /** Write a big-endian 32-bit integer (signed or unsigned bits). */
  be32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  /** Write a big-endian 64-bit integer (signed or unsigned bits). */
  be64(v: bigint): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v));
    this.pos += 8;
  }

  /** Write a be64 from two 32-bit halves (RAM record headers, no bigint). */
  be64Parts(high: number, low: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setUint32(this.pos, high >>> 0);
    this.view.setUint32(this.pos + 4, low >>> 0);
    this.pos += 8;
  }

  /** Write a big-endian IEEE double. */
  f64(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Write raw bytes. */
  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Write `n` zero bytes. */
  zeros(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Write a counted string (u8 length + bytes); names over 255 bytes are a caller bug. */
  str8(s: string): void {
    const b = encoder.encode(s);
    if (b.length > 255) throw new RangeError(`Name "${s}" is longer than 255 bytes`);
    this.u8(b.length);
    this.bytes(b);
  }

  /** Flush if the buffer passed the threshold (cheap to call often). */
  async maybeFlush(): Promise<void> {
    if (this.sink && this.pos >= this.flushThreshold) await this.flush();
  }

  /**
   * Hand the buffered bytes to the sink and go on encoding into a second buffer while they are
   * written (at most one write in flight; bulk data such as RAM pages uses it so encoding and
   * the sink's I/O overlap without a copy). {@link flush} waits for that write too.
   */
  async flushBehind(): Promise<void> {
    if (!this.sink || this.pos === 0) return;
    await this.settle();
    const full = this.buf;
    const at = this.flushedBytes;
    this.inflight = this.sink.write(full.subarray(0, this.pos)).then(
      () => {},
      (e) => void (this.inflightError = this.transportError(e, at)),
    );
    this.flushedBytes += this.pos;
    this.pos = 0;
    const next = this.spare && this.spare.length >= full.length ? this.spare : null;
    this.buf = next ?? new Uint8Array(full.length);
    this.view = new DataView(this.buf.buffer);
    this.spare = full;
  }

  /** Wait for a write started by {@link flushBehind}; rethrow its failure. */
  private async settle(): Promise<void> {
    if (this.inflight) {
      await this.inflight;
      this.inflight = null;
    }
    if (this.inflightError !== null) throw this.inflightError;
  }

  private transportError(e: unknown, offset: number): TransportError {
    return new TransportError(`Writing the stream failed: ${(e as Error).message}`, {
      offset,
    }, { cause: e });
  }

  /** Send everything buffered to the sink (and wait for a write still in flight). */
  async flush(): Promise<void> {
    await this.settle();
    if (!this.sink || this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    try {
      await this.sink.write(chunk);
    } catch (e) {
      throw this.transportError(e, this.flushedBytes);
    }
    this.flushedBytes += this.pos;
    this.pos = 0;
  }

  /** Everything written so far, for a writer without a sink. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
