/**
 * boundCount: a count from the stream is refused past the description's maximum and past the
 * bytes a stream of known length has left, and on a stream of unknown length nothing is
 * allocated until the elements' bytes have arrived (the reader is asked for them first).
 */
import { ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  MigrationError,
  StateValidationError,
  StreamFormatError,
  StreamTruncatedError,
} from "../../../migration/errors.ts";
import { bytesSource } from "../../../migration/stream/io.ts";
import {
  type ByteSource,
  MAX_ITEM_BYTES,
  NeedMoreInput,
  StreamReader,
} from "../../../migration/stream/reader.ts";
import { boundCount } from "../../../migration/vmstate/bound_count.ts";

/** A source of unknown length (a socket, a pipe) over `bytes`, counting what it delivered. */
function unsized(bytes: Uint8Array, chunk = 16) {
  const inner = bytesSource(bytes, chunk);
  const state = { delivered: 0 };
  const source: ByteSource = {
    read: async (into) => {
      const n = await inner.read(into);
      if (n) state.delivered += n;
      return n;
    },
  };
  return { source, state };
}

Deno.test("a count past the description's maximum is refused before anything else", () => {
  const r = StreamReader.fromBytes(new Uint8Array(1000));
  throws(() => boundCount(r, 300, 1, "caps", 256), StateValidationError);
  boundCount(r, 256, 1, "caps", 256);
});

Deno.test("negative, fractional and unsafe counts are format errors", () => {
  const r = StreamReader.fromBytes(new Uint8Array(8));
  for (const n of [-1, 1.5, Number.NaN, 2 ** 60]) {
    throws(() => boundCount(r, n, 1, "x"), StreamFormatError);
  }
});

Deno.test("a known-length stream refuses a count its remaining bytes cannot hold", () => {
  const r = StreamReader.fromBytes(new Uint8Array(64));
  throws(() => boundCount(r, 9, 8, "x"), StreamTruncatedError);
  boundCount(r, 8, 8, "x");
});

Deno.test("an unknown-length stream: the elements' bytes are waited for, not allocated for", async () => {
  const { source, state } = unsized(new Uint8Array(4096), 64);
  const r = StreamReader.fromSource(source, 4096);
  strictEqual(r.size, undefined);
  await r.fill();
  // Too few bytes buffered: the reader is asked for more (retrying refills and runs again).
  throws(() => boundCount(r, 1000, 8, "x"), (e) => e instanceof NeedMoreInput);
  // Through retrying, the bytes arrive first; a claim larger than the stream is a truncation.
  await r.retrying(() => boundCount(r, 512, 8, "x"));
  strictEqual(state.delivered, 4096);
  await rejects(
    r.retrying(() => boundCount(r, 513, 8, "x")),
    (e) => e instanceof StreamTruncatedError,
  );
});

Deno.test("a claim larger than one item may hold is refused at once on an unknown-length stream", async () => {
  const { source, state } = unsized(new Uint8Array(100));
  const r = StreamReader.fromSource(source, 4096);
  await rejects(
    r.retrying(() => {
      r.u8();
      boundCount(r, 0x7fffffff, 1, "caps");
    }),
    (e) => e instanceof StreamFormatError && e instanceof MigrationError,
  );
  ok(state.delivered <= 100);
  ok(0x7fffffff > MAX_ITEM_BYTES);
});

Deno.test("elements of no fixed size count as one byte each", () => {
  const r = StreamReader.fromBytes(new Uint8Array(10));
  boundCount(r, 10, 0, "structs");
  throws(() => boundCount(r, 11, 0, "structs"), StreamTruncatedError);
});
