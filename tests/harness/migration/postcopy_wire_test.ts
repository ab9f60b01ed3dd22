/** QEMU 7.2's postcopy return path: REQ_PAGES(_ID), PONG and SHUT, encoded and read back. */
import { deepStrictEqual, rejects } from "node:assert/strict";
import {
  encodeRequest,
  encodeRp,
  ReturnPathReader,
  RpMessage,
} from "../../../harness/migration/postcopy_wire.ts";
import { TransportError } from "../../../migration/errors.ts";
import { encodeShut } from "../../../harness/migration/return_path.ts";

/** A connection that hands out `bytes` a few at a time, then ends. */
function conn(bytes: Uint8Array, step = 3) {
  let at = 0;
  return {
    read(into: Uint8Array): Promise<number | null> {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(step, into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("REQ_PAGES_ID carries the block's name, REQ_PAGES the same block as before", async () => {
  const named = encodeRequest({ start: 0x5000, length: 4096, idstr: "riscv_virt_board.ram" });
  deepStrictEqual([...named.subarray(0, 4)], [0, RpMessage.REQ_PAGES_ID, 0, 13 + 20]);
  const plain = encodeRequest({ start: 2 ** 33, length: 4096 });
  deepStrictEqual([...plain.subarray(0, 4)], [0, RpMessage.REQ_PAGES, 0, 12]);
  const pong = encodeRp(RpMessage.PONG, new Uint8Array([0, 0, 0, 3]));
  const r = new ReturnPathReader(conn(cat(named, plain, pong, encodeShut(0))), "test");
  deepStrictEqual(await r.next(), {
    type: "request",
    request: { start: 0x5000, length: 4096, idstr: "riscv_virt_board.ram" },
  });
  deepStrictEqual(await r.next(), { type: "request", request: { start: 2 ** 33, length: 4096 } });
  deepStrictEqual(await r.next(), { type: "pong", value: 3 });
  deepStrictEqual(await r.next(), { type: "shut", status: 0 });
  deepStrictEqual(await r.next(), null, "closed between messages");
});

Deno.test("a return path cut inside a message or carrying a bad one is a TransportError", async () => {
  const named = encodeRequest({ start: 0, length: 4096, idstr: "ram" });
  await rejects(
    new ReturnPathReader(conn(named.subarray(0, 7)), "t").next(),
    (e) => e instanceof TransportError && /ended inside a message/.test(e.message),
  );
  await rejects(
    new ReturnPathReader(conn(encodeRp(RpMessage.REQ_PAGES, new Uint8Array(5))), "t").next(),
    (e) => e instanceof TransportError && /bad return path message type 4 length 5/.test(e.message),
  );
  await rejects(
    new ReturnPathReader(conn(encodeRp(9, new Uint8Array(0))), "t").next(),
    TransportError,
  );
});
