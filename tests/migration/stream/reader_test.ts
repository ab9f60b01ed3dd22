/**
 * The buffered reader: big-endian primitives, peeking, bounds, truncation errors with offsets,
 * and the NeedMoreInput/retrying path that restarts a decoder after a refill.
 */
import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  StreamFormatError,
  StreamTruncatedError,
  TransportError,
} from "../../../migration/errors.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import { decodeName, NeedMoreInput, StreamReader } from "../../../migration/stream/reader.ts";
import { b, caught } from "../_helpers.ts";

Deno.test("StreamReader reads big-endian primitives and tracks the offset", () => {
  const r = StreamReader.fromBytes(b(
    /* u8 */ 0xfe,
    /* be16 */ [0x12, 0x34],
    /* be32 */ [0x89, 0xab, 0xcd, 0xef],
    /* sbe32 */ [0xff, 0xff, 0xff, 0xfe],
    /* be64 */ [0xff, 0, 0, 0, 0, 0, 0, 1],
    /* sbe64 */ [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd],
    /* f64 1.5 */ [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
    /* be64Parts */ [0, 0, 0, 1, 0x80, 0, 0, 2],
    /* str8 */ 3,
    "ram",
  ));
  strictEqual(r.u8(), 0xfe);
  strictEqual(r.be16(), 0x1234);
  strictEqual(r.be32(), 0x89abcdef);
  strictEqual(r.sbe32(), -2);
  strictEqual(r.be64(), 0xff00000000000001n);
  strictEqual(r.sbe64(), -3n);
  strictEqual(r.f64(), 1.5);
  const parts = new Uint32Array(2);
  r.be64Parts(parts);
  deepStrictEqual([...parts], [1, 0x80000002]);
  strictEqual(r.offset, 43);
  strictEqual(r.str8(), "ram");
  strictEqual(r.atEnd, true);
  strictEqual(r.remaining, 0);
});

Deno.test("StreamReader.bytes() copies while borrow() shares the buffer", () => {
  const src = b(1, 2, 3, 4);
  const r = StreamReader.fromBytes(src);
  const copy = r.bytes(2);
  const view = r.borrow(2);
  src[0] = 9;
  src[2] = 9;
  deepStrictEqual([...copy], [1, 2]);
  deepStrictEqual([...view], [9, 4]);
});

Deno.test("StreamReader peeks without consuming and returns undefined past the end", () => {
  const r = StreamReader.fromBytes(b(5, 6, 7));
  strictEqual(r.peekU8(0), 5);
  strictEqual(r.peekU8(2), 7);
  strictEqual(r.peekU8(3), undefined);
  deepStrictEqual([...r.peekBytes(1, 5)], [6, 7]);
  strictEqual(r.offset, 0);
  r.skip(3);
  strictEqual(r.peekU8(), undefined);
});

Deno.test("StreamReader throws StreamTruncatedError with the offset when bytes run out", () => {
  const r = StreamReader.fromBytes(b(1, 2, 3));
  r.u8();
  const e = caught(() => r.be32()) as StreamTruncatedError;
  strictEqual(e instanceof StreamTruncatedError, true);
  strictEqual(e.offset, 1);
  strictEqual(e.needed, 2);
  strictEqual(e.available, 2);
  strictEqual(r.offset, 1, "a failed read consumes nothing");
  throws(() => r.skip(3), StreamTruncatedError);
  throws(() => r.str8(), StreamTruncatedError);
});

Deno.test("StreamReader.checkAvailable() rejects lengths the stream cannot deliver", () => {
  const r = StreamReader.fromBytes(new Uint8Array(10));
  r.checkAvailable(10, "x");
  throws(() => r.checkAvailable(11, "x"), StreamTruncatedError);
  throws(() => r.checkAvailable(-1, "x"), StreamFormatError);
  throws(() => r.checkAvailable(NaN, "x"), StreamFormatError);
  // A source of unknown size only rejects invalid lengths.
  const open = StreamReader.fromSource({ read: () => Promise.resolve(null) });
  open.checkAvailable(1 << 30, "x");
});

Deno.test("StreamReader signals NeedMoreInput on a source that has not delivered yet", () => {
  const r = StreamReader.fromSource(bytesSource(b(1, 2, 3, 4)));
  const e = caught(() => r.be32());
  strictEqual(e instanceof NeedMoreInput, true);
  strictEqual((e as unknown as NeedMoreInput).needed, 4);
  strictEqual(caught(() => r.peekU8()) instanceof NeedMoreInput, true);
});

Deno.test("StreamReader.retrying() restarts a decoder after each refill until it completes", async () => {
  const r = StreamReader.fromSource(bytesSource(b([0, 0, 0, 5], "hello", 0x42), 1), 2);
  let attempts = 0;
  const s = await r.retrying(() => {
    attempts++;
    const n = r.be32();
    return decodeName(r.borrow(n));
  });
  strictEqual(s, "hello");
  strictEqual(attempts > 1, true);
  strictEqual(r.offset, 9);
  strictEqual(await r.retrying(() => r.u8()), 0x42);
  strictEqual(await r.retrying(() => r.peekU8()), undefined);
  strictEqual(r.atEnd, true);
});

Deno.test("StreamReader.retrying() turns a short source into StreamTruncatedError at the end", async () => {
  const r = StreamReader.fromSource(bytesSource(b(1, 2, 3), 2));
  await rejects(r.retrying(() => r.be32()), StreamTruncatedError);
});

Deno.test("StreamReader.ensure() waits for bytes and reports truncation with what was available", async () => {
  const r = StreamReader.fromSource(bytesSource(b(1, 2, 3), 1));
  await r.ensure(2);
  strictEqual(r.buffered >= 2, true);
  r.skip(1);
  const e = await r.ensure(5).then(() => undefined, (x) => x as StreamTruncatedError);
  strictEqual(e instanceof StreamTruncatedError, true);
  strictEqual(e!.needed, 3);
  strictEqual(e!.available, 2);
  strictEqual(e!.offset, 3, "where the stream ended");
});

Deno.test("StreamReader wraps a failing source as TransportError", async () => {
  const r = StreamReader.fromSource({ read: () => Promise.reject(new Error("reset")) });
  await rejects(
    r.retrying(() => r.u8()),
    (e) => e instanceof TransportError && /reset/.test(e.message),
  );
});

Deno.test("StreamReader in chunks reads the same values as fromBytes for any chunk size", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 64 }),
      async (bytes, k, initial) => {
        const decode = (r: StreamReader) => {
          const out: (number | bigint)[] = [];
          while (r.buffered >= 0) {
            const kind = r.peekU8();
            if (kind === undefined) break;
            r.u8();
            if (kind % 3 === 0 && (r.peekU8(7) !== undefined)) out.push(r.be64());
            else if (kind % 3 === 1 && r.peekU8(1) !== undefined) out.push(r.be16());
            else out.push(kind);
          }
          return out;
        };
        const whole = decode(StreamReader.fromBytes(bytes));
        const r = StreamReader.fromSource(bytesSource(bytes, k), initial);
        deepStrictEqual(await r.retrying(() => decode(r)), whole);
        strictEqual(r.offset, bytes.length);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("decodeName() keeps ASCII and replaces invalid UTF-8", () => {
  strictEqual(decodeName(b("cpu/pmp")), "cpu/pmp");
  strictEqual(decodeName(b(0xc3, 0xa9)), "\u00e9");
  strictEqual(decodeName(b(0xff)), "\ufffd");
});

/** Byte `i` of a recognisable test stream. */
function patterned(len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (i * 7 + (i >>> 9)) & 255;
  return out;
}

function sameBytes(got: Uint8Array, want: Uint8Array): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return false;
  return true;
}

Deno.test("read-ahead delivers exactly the stream's bytes in order, whatever the item sizes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3 << 20 }),
      fc.integer({ min: 1, max: 1 << 20 }),
      fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      async (len, k, items, viaRetrying) => {
        const bytes = patterned(len);
        const r = StreamReader.fromSource(bytesSource(bytes, k), 256 << 10, { readAhead: true });
        let at = 0;
        for (let i = 0; at < len; i++) {
          const n = Math.min(items[i % items.length], len - at);
          // retrying() pins the item: items over the 64 KiB reserve take the appending path.
          const got = viaRetrying
            ? await r.retrying(() => r.bytes(n))
            : await r.ensure(n).then(() => r.bytes(n));
          strictEqual(sameBytes(got, bytes.subarray(at, at + n)), true, `bytes ${at}..${at + n}`);
          at += n;
          strictEqual(r.offset, at);
        }
        strictEqual(await r.retrying(() => r.peekU8()), undefined);
        strictEqual(r.atEnd, true);
        await r.settle();
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("read-ahead keeps one read in flight; settle() waits for it and reading stops", async () => {
  const bytes = patterned(1 << 20);
  const inner = bytesSource(bytes, 300_000);
  const reads: (() => void)[] = [];
  let calls = 0;
  // Reads complete only when the test lets them.
  const source = {
    size: bytes.length,
    read(into: Uint8Array) {
      calls++;
      return new Promise<number | null>((resolve) => reads.push(() => resolve(inner.read(into))));
    },
  };
  const r = StreamReader.fromSource(source, 256 << 10, { readAhead: true });
  const first = r.ensure(10);
  reads.shift()!();
  await first;
  strictEqual(calls, 2, "the next chunk is already being read");
  const events: string[] = [];
  const settled = r.settle().then(() => events.push("settled"));
  events.push("read completes");
  reads.shift()!();
  await settled;
  deepStrictEqual(events, ["read completes", "settled"]);
  strictEqual(calls, 2, "nothing more is read");
});

Deno.test("a failed read-ahead is a TransportError at the next refill, at the right offset", async () => {
  const bytes = patterned(600_000);
  const inner = bytesSource(bytes, 300_000);
  let calls = 0;
  const source = {
    size: bytes.length,
    read: (into: Uint8Array) =>
      ++calls === 2 ? Promise.reject(new Error("disk on fire")) : inner.read(into),
  };
  const r = StreamReader.fromSource(source, 256 << 10, { readAhead: true });
  await r.ensure(1);
  r.skip(r.buffered);
  const e = await r.ensure(1).then(() => undefined, (x) => x);
  strictEqual(e instanceof TransportError, true, String(e));
  strictEqual((e as TransportError).offset, 256 << 10);
  strictEqual(/disk on fire/.test((e as TransportError).message), true);
});

Deno.test("read-ahead is ignored for small chunks", async () => {
  let calls = 0;
  const inner = bytesSource(patterned(100_000), 1000);
  const r = StreamReader.fromSource(
    {
      size: 100_000,
      read: (into) => (calls++, inner.read(into)),
    },
    4096,
    { readAhead: true },
  );
  await r.ensure(1);
  strictEqual(calls, 1);
});

Deno.test("refillFrom rewinds a record cut short, buffers more, and is a truncation at the end", async () => {
  const bytes = b([0, 0, 0, 1], [0, 0, 0, 2], [0, 0]);
  const r = StreamReader.fromSource(bytesSource(bytes, 3), 3);
  const got: number[] = [];
  let end: unknown;
  while (end === undefined) {
    const start = r.offset;
    try {
      got.push(r.be32());
    } catch (e) {
      if (!(e instanceof NeedMoreInput)) end = e;
      else await r.refillFrom(start, e).catch((x) => end = x);
    }
  }
  deepStrictEqual(got, [1, 2]);
  // Cut short at the end: a truncation at the record's start, which the reader is back at.
  if (!(end instanceof StreamTruncatedError)) throw end;
  deepStrictEqual([end.offset, end.needed, r.offset], [8, 2, 8]);
  // Once the end is known, refillFrom itself says so, at the end of the bytes.
  const more = await r.refillFrom(8, new NeedMoreInput(2)).catch((x) => x);
  if (!(more instanceof StreamTruncatedError)) throw more;
  deepStrictEqual([more.offset, more.needed, r.offset], [10, 2, 8]);
});

Deno.test("str8Like returns the known name without decoding, and decodes anything else", () => {
  const known = "pc.ram";
  const r = StreamReader.fromBytes(b(6, "pc.ram", 6, "pc.rom", [2, 0xc3, 0xa9], [1, 0xe9]));
  strictEqual(r.str8Like(known), known);
  strictEqual(r.str8Like(known), "pc.rom");
  strictEqual(r.str8Like("\u00e9"), "\u00e9"); // UTF-8 bytes, decoded (not byte-compared)
  strictEqual(r.str8Like("\u00e9"), "\ufffd"); // latin-1 byte 0xe9 is not "é"
  strictEqual(r.offset, 7 + 7 + 3 + 2);
  throws(() => StreamReader.fromBytes(b(6, 0x70)).str8Like(known), StreamTruncatedError);
});

Deno.test("bufferedBytes borrows exactly the unconsumed buffered bytes", async () => {
  const r = StreamReader.fromSource(bytesSource(b(1, 2, 3, 4, 5, 6), 4), 4);
  await r.ensure(4);
  r.u8();
  deepStrictEqual([...r.bufferedBytes()], [2, 3, 4]);
  r.skip(3);
  deepStrictEqual([...r.bufferedBytes()], []);
});

Deno.test("decodeName gives the same text whether or not it has decoded the bytes before", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 40 }), (names) => {
      for (const round of [0, 1]) {
        for (const bytes of names) {
          const want = bytes.every((x) => x < 0x80)
            ? String.fromCharCode(...bytes)
            : new TextDecoder().decode(bytes);
          strictEqual(decodeName(bytes), want, `round ${round}`);
        }
      }
    }),
  );
});
