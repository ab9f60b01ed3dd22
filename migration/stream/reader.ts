/**
 * Buffered, position-aware reader for migration streams.
 *
 * Decoders read synchronously from a window of buffered bytes; when the window runs dry the
 * reader throws {@link NeedMoreInput}, and {@link StreamReader.retrying} refills it
 * asynchronously and restarts the item from its first byte. So the decoders stay simple and
 * synchronous while multi-GiB streams are never held in memory whole, and no allocation is made
 * for a length the stream has not yet delivered. A reader can read ahead (one read in flight into
 * a second buffer while decoders work on the first) so a file's I/O overlaps the decoding.
 * @module
 */
import { StreamFormatError, StreamTruncatedError, TransportError } from "../errors.ts";

/** Where bytes come from: a file, a socket, a program's stdout, or memory. */
export interface ByteSource {
  /** Fill `into` with up to its length; resolve to the count, or null at end of stream. */
  read(into: Uint8Array): Promise<number | null>;
  /** Total size when known (files), so lengths can be checked against what is left. */
  readonly size?: number;
}

/** Signal (not an error) that a synchronous decoder needs more buffered bytes to go on. */
export class NeedMoreInput {
  constructor(readonly needed: number) {}
}

const MIN_FILL = 64 * 1024;
/** Bytes kept free at the front of a read-ahead buffer for the unconsumed tail of the last one. */
const AHEAD_RESERVE = 64 * 1024;

/** Options of {@link StreamReader.fromSource}. */
export interface ReaderOptions {
  /**
   * Keep one read in flight into a second buffer while decoders work on the first, so I/O and
   * decoding overlap. Only for a source this reader alone consumes and whose reads complete on
   * their own (files, not sockets); call {@link StreamReader.settle} before closing the source.
   * Ignored for chunks under 256 KiB.
   */
  readAhead?: boolean;
}

/** A read-ahead: `buf` holds `n` bytes from {@link AHEAD_RESERVE} on, or the read failed. */
interface Ahead {
  buf: Uint8Array;
  n: number | null;
  error?: unknown;
}
/** Largest single item (section, page run) the reader buffers while retrying. */
export const MAX_ITEM_BYTES = 512 * 1024 * 1024;

/** Reads big-endian primitives from a stream and always knows its absolute byte offset. */
export class StreamReader {
  private buf: Uint8Array;
  private view: DataView;
  /** Index of the next unread byte in `buf`. */
  private pos = 0;
  /** Index one past the last valid byte in `buf`. */
  private end = 0;
  /** Absolute stream offset of `buf[0]`. */
  private base = 0;
  /** Absolute offset before which bytes may be discarded; -1 when nothing is pinned. */
  private pinned = -1;
  private eof: boolean;
  private readonly source?: ByteSource;
  /** Total stream size when known. */
  readonly size?: number;
  private readonly readAhead: boolean;
  private readonly chunk: number;
  /** The read in flight into a second buffer, when reading ahead. */
  private ahead: Promise<Ahead> | null = null;
  /** A buffer of `chunk` bytes to read ahead into. */
  private spare: Uint8Array | null = null;

  private constructor(
    source: ByteSource | undefined,
    initial: Uint8Array,
    eof: boolean,
    readAhead = false,
  ) {
    this.source = source;
    this.chunk = initial.length;
    this.readAhead = readAhead && !eof && initial.length >= 4 * AHEAD_RESERVE;
    this.buf = initial;
    this.view = new DataView(initial.buffer, initial.byteOffset, initial.byteLength);
    this.end = eof ? initial.length : 0;
    this.eof = eof;
    this.size = eof ? initial.length : source?.size;
  }

  /** A reader over bytes already in memory (tests, fuzzing, small streams). */
  static fromBytes(bytes: Uint8Array): StreamReader {
    return new StreamReader(undefined, bytes, true);
  }

  /** A reader that pulls from `source` as decoders need bytes. */
  static fromSource(
    source: ByteSource,
    chunk = 1024 * 1024,
    opts: ReaderOptions = {},
  ): StreamReader {
    return new StreamReader(source, new Uint8Array(chunk), false, opts.readAhead);
  }

  /** Absolute offset of the next byte to be read. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.end - this.pos;
  }

  /** True when every byte has been consumed and the source has ended. */
  get atEnd(): boolean {
    return this.eof && this.pos >= this.end;
  }

  /** Bytes left in the stream when its size is known (files, memory), else undefined. */
  get remaining(): number | undefined {
    return this.size === undefined ? undefined : this.size - this.offset;
  }

  /** Wait until `n` bytes are buffered; a stream that ends first is a truncation error. */
  async ensure(n: number): Promise<void> {
    while (this.end - this.pos < n) {
      if (this.eof) {
        const have = this.end - this.pos;
        throw new StreamTruncatedError(n - have, have, { offset: this.end + this.base });
      }
      await this.fill(n - (this.end - this.pos));
    }
  }

  /** Read at least one more chunk from the source; false when the source has ended. */
  async fill(atLeast = 1): Promise<boolean> {
    if (this.eof || !this.source) {
      this.eof = true;
      return false;
    }
    let got = false;
    if (this.ahead) {
      const before = this.end - this.pos;
      got = await this.takeAhead();
      const gained = this.end - this.pos - before;
      if (this.eof || gained >= atLeast) {
        this.startAhead();
        return got;
      }
      atLeast -= gained;
    }
    got = (await this.fillDirect(atLeast)) || got;
    this.startAhead();
    return got;
  }

  /**
   * Wait for a read-ahead still in flight and drop its bytes, so the source can be closed (call
   * it when done with a reader made with `readAhead`, whether or not the stream was read to its
   * end). The reader reads nothing more afterwards.
   */
  async settle(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = null;
    this.eof = true;
    if (ahead) await ahead;
  }

  /** Start reading the next chunk into the spare buffer, when reading ahead. */
  private startAhead(): void {
    if (!this.readAhead || this.eof || this.ahead || !this.source) return;
    const buf = this.spare ?? new Uint8Array(this.chunk);
    this.spare = null;
    this.ahead = this.source.read(buf.subarray(AHEAD_RESERVE)).then(
      (n) => ({ buf, n }),
      (error) => ({ buf, n: null, error }),
    );
  }

  /**
   * Take the read-ahead's bytes: the unconsumed tail moves in front of them in the read-ahead
   * buffer, which becomes the current one (no copy of the new bytes), unless a pinned item is
   * too long for that, when they are appended to the current buffer instead.
   */
  private async takeAhead(): Promise<boolean> {
    const { buf: next, n, error } = await this.ahead!;
    this.ahead = null;
    if (error !== undefined) {
      throw new TransportError(`Reading the stream failed: ${(error as Error).message}`, {
        offset: this.base + this.end,
      }, { cause: error });
    }
    if (n === null) {
      this.eof = true;
      this.spare = next;
      return false;
    }
    const keepFrom = this.pinned >= 0 ? this.pinned - this.base : this.pos;
    const live = this.end - keepFrom;
    if (live <= AHEAD_RESERVE) {
      const at = AHEAD_RESERVE - live;
      next.set(this.buf.subarray(keepFrom, this.end), at);
      const shift = keepFrom - at;
      if (this.buf.length === this.chunk) this.spare = this.buf;
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
      this.base += shift;
      this.pos -= shift;
      this.end = AHEAD_RESERVE + n;
    } else {
      this.makeRoom(n);
      this.buf.set(next.subarray(AHEAD_RESERVE, AHEAD_RESERVE + n), this.end);
      this.end += n;
      this.spare = next;
    }
    return true;
  }

  /**
   * Drop consumed bytes (keeping a pinned item) and grow the buffer so that `atLeast` more bytes
   * fit after the live ones; an item over {@link MAX_ITEM_BYTES} is a format error.
   */
  private makeRoom(atLeast: number): void {
    const keepFrom = this.pinned >= 0 ? this.pinned - this.base : this.pos;
    const live = this.end - keepFrom;
    // Of a stream of unknown length only what arrives is real: grow by at most the live bytes
    // (or a chunk) per fill, so a claimed length costs memory only as its bytes come in.
    const grow = this.size === undefined ? Math.min(atLeast, Math.max(live, this.chunk)) : atLeast;
    const want = live + Math.max(grow, MIN_FILL, live);
    if (want - MIN_FILL > MAX_ITEM_BYTES) {
      throw new StreamFormatError(
        `Item starting at byte ${this.base + keepFrom} is larger than ${MAX_ITEM_BYTES} bytes`,
        { offset: this.base + keepFrom },
      );
    }
    if (keepFrom > 0 || want > this.buf.length) {
      const target = want > this.buf.length
        ? new Uint8Array(Math.max(want, this.buf.length))
        : this.buf;
      if (target === this.buf) {
        this.buf.copyWithin(0, keepFrom, this.end);
      } else {
        target.set(this.buf.subarray(keepFrom, this.end), 0);
        this.buf = target;
        this.view = new DataView(target.buffer, target.byteOffset, target.byteLength);
      }
      this.base += keepFrom;
      this.pos -= keepFrom;
      this.end -= keepFrom;
    }
  }

  /** Read from the source into the current buffer until `atLeast` more bytes came (or EOF). */
  private async fillDirect(atLeast: number): Promise<boolean> {
    this.makeRoom(atLeast);
    const source = this.source!;
    const goal = Math.min(this.buf.length, this.end + Math.max(atLeast, 1));
    let got = false;
    while (this.end < goal) {
      let n: number | null;
      try {
        n = await source.read(this.buf.subarray(this.end));
      } catch (e) {
        throw new TransportError(`Reading the stream failed: ${(e as Error).message}`, {
          offset: this.base + this.end,
        }, { cause: e });
      }
      if (n === null) {
        this.eof = true;
        break;
      }
      this.end += n;
      got = true;
    }
    return got;
  }

  /**
   * Run a synchronous decoder, refilling and restarting it from its first byte whenever it runs
   * out of buffered input. The decoder must not have side effects outside what it returns.
   */
  async retrying<T>(decode: () => T): Promise<T> {
    const start = this.offset;
    const outer = this.pinned;
    this.pinned = outer >= 0 ? outer : start;
    try {
      for (;;) {
        try {
          return decode();
        } catch (e) {
          if (!(e instanceof NeedMoreInput)) throw e;
          this.pos = start - this.base;
          if (this.eof) {
            // A decoder only asks for more when it is short; at EOF that is a truncation.
            throw new StreamTruncatedError(e.needed, this.end - this.pos, {
              offset: this.end + this.base,
            });
          }
          await this.fill(Math.max(e.needed, this.end - this.pos));
        }
      }
    } finally {
      this.pinned = outer;
    }
  }

  /**
   * The refill step of a caller's own synchronous loop (what {@link retrying} does per item,
   * without its closure and promise): after a decoder started at `start` ran short (`short`),
   * rewind to `start` and buffer more; at the end of the stream that is a truncation error.
   * Lets a hot loop decode record after record from the buffer and await only when it runs dry.
   */
  async refillFrom(start: number, short: NeedMoreInput): Promise<void> {
    this.pos = start - this.base;
    if (this.eof) {
      throw new StreamTruncatedError(short.needed, this.end - this.pos, {
        offset: this.end + this.base,
      });
    }
    const outer = this.pinned;
    this.pinned = outer >= 0 ? outer : start;
    try {
      await this.fill(Math.max(short.needed, this.end - this.pos));
    } finally {
      this.pinned = outer;
    }
  }

  /** Synchronously require `n` buffered bytes (throws NeedMoreInput or a truncation error). */
  need(n: number): void {
    const have = this.end - this.pos;
    if (have >= n) return;
    if (this.eof) {
      throw new StreamTruncatedError(n - have, have, { offset: this.base + this.pos });
    }
    throw new NeedMoreInput(n - have);
  }

  /** Check that `n` bytes can still come from a stream of known size, before allocating them. */
  checkAvailable(n: number, what: string): void {
    const left = this.remaining;
    if (n < 0 || !Number.isFinite(n)) {
      throw new StreamFormatError(`${what}: invalid length ${n}`, { offset: this.offset });
    }
    if (left !== undefined && n > left) {
      throw new StreamTruncatedError(n, left, { offset: this.offset });
    }
  }

  /** Read one unsigned byte. */
  u8(): number {
    if (this.pos >= this.end) this.need(1);
    return this.buf[this.pos++];
  }

  /** Read a big-endian unsigned 16-bit integer. */
  be16(): number {
    if (this.end - this.pos < 2) this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Read a big-endian unsigned 32-bit integer. */
  be32(): number {
    if (this.end - this.pos < 4) this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Read a big-endian signed 32-bit integer. */
  sbe32(): number {
    if (this.end - this.pos < 4) this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Read a big-endian unsigned 64-bit integer. */
  be64(): bigint {
    if (this.end - this.pos < 8) this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Read a big-endian signed 64-bit integer. */
  sbe64(): bigint {
    if (this.end - this.pos < 8) this.need(8);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Read a big-endian IEEE double. */
  f64(): number {
    if (this.end - this.pos < 8) this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Read a be64 as two numbers [high32, low32] without bigint cost (RAM record headers). */
  be64Parts(out: Uint32Array): void {
    if (this.end - this.pos < 8) this.need(8);
    out[0] = this.view.getUint32(this.pos);
    out[1] = this.view.getUint32(this.pos + 4);
    this.pos += 8;
  }

  /** Copy `n` bytes out of the stream. */
  bytes(n: number): Uint8Array {
    if (this.end - this.pos < n) this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Borrow `n` bytes without copying; valid only until the next read or fill. */
  borrow(n: number): Uint8Array {
    if (this.end - this.pos < n) this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Borrow every buffered byte not yet consumed (valid until the next read or fill), for a hot
   * loop that parses many small records in place and then {@link skip}s what it used.
   */
  bufferedBytes(): Uint8Array {
    return this.buf.subarray(this.pos, this.end);
  }

  /** Skip `n` bytes. */
  skip(n: number): void {
    if (this.end - this.pos < n) this.need(n);
    this.pos += n;
  }

  /** Look at byte `at` ahead without consuming; undefined past the end of the stream. */
  peekU8(at = 0): number | undefined {
    if (this.end - this.pos <= at) {
      if (this.eof) return undefined;
      throw new NeedMoreInput(at + 1 - (this.end - this.pos));
    }
    return this.buf[this.pos + at];
  }

  /** Look at `n` bytes starting `at` ahead; returns fewer when the stream ends first. */
  peekBytes(at: number, n: number): Uint8Array {
    if (this.end - this.pos < at + n && !this.eof) {
      throw new NeedMoreInput(at + n - (this.end - this.pos));
    }
    const from = Math.min(this.pos + at, this.end);
    return this.buf.subarray(from, Math.min(from + n, this.end));
  }

  /** Read a counted string (u8 length, raw bytes) as latin1-safe UTF-8 text. */
  str8(): string {
    const n = this.u8();
    return decodeName(this.borrow(n));
  }

  /**
   * {@link str8}, but when the bytes spell `known` (ASCII) return it without decoding: a RAM
   * record naming the block it is already in costs no string allocation.
   */
  str8Like(known: string | undefined): string {
    const n = this.u8();
    if (this.end - this.pos < n) this.need(n);
    if (known !== undefined && known.length === n) {
      const buf = this.buf;
      const at = this.pos;
      let i = 0;
      while (i < n && buf[at + i] < 0x80 && buf[at + i] === known.charCodeAt(i)) i++;
      if (i === n) {
        this.pos += n;
        return known;
      }
    }
    return decodeName(this.borrow(n));
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Names decoded lately, by a hash of their bytes: a stream names the same few sections and
 * blocks over and over (the fuzzer loads thousands a second), so a hit costs no string.
 */
const recentNames: (string | undefined)[] = new Array(256);

/** Decode a wire name; names are ASCII in practice, invalid bytes become U+FFFD. */
export function decodeName(bytes: Uint8Array): string {
  let hash = bytes.length;
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  if (!ascii) return utf8.decode(bytes);
  const slot = (hash ^ (hash >>> 8)) & 0xff;
  const seen = recentNames[slot];
  if (seen !== undefined && seen.length === bytes.length) {
    let i = 0;
    while (i < bytes.length && seen.charCodeAt(i) === bytes[i]) i++;
    if (i === bytes.length) return seen;
  }
  const name = String.fromCharCode(...bytes);
  recentNames[slot] = name;
  return name;
}
