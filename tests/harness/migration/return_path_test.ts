/** The return path's SHUT message: QEMU's layout, and every way the read can end. */
import { rejects, strictEqual } from "node:assert/strict";
import { encodeShut, readShut } from "../../../harness/migration/return_path.ts";
import { TransportError } from "../../../migration/errors.ts";
import { hex } from "../../migration/_helpers.ts";

function conn(...chunks: (Uint8Array | Error)[]) {
  return {
    read(into: Uint8Array): Promise<number | null> {
      const c = chunks.shift();
      if (c === undefined) return Promise.resolve(null);
      if (c instanceof Error) return Promise.reject(c);
      into.set(c);
      return Promise.resolve(c.length);
    },
  };
}

Deno.test("encodeShut() writes be16 type 1, be16 length 4, be32 status", () => {
  strictEqual(hex(encodeShut(0)), "00 01 00 04 00 00 00 00");
  strictEqual(hex(encodeShut(1)), "00 01 00 04 00 00 00 01");
});

Deno.test("readShut() tells loaded and rejected apart, even byte by byte", async () => {
  strictEqual(await readShut(conn(encodeShut(0)), "x"), "loaded");
  strictEqual(
    await readShut(conn(...[...encodeShut(1)].map((v) => new Uint8Array([v]))), "x"),
    "rejected",
  );
});

Deno.test("readShut() rejects a hang-up, a reset, a cut or a foreign message", async () => {
  await rejects(readShut(conn(), "tcp:h:1"), (e) =>
    e instanceof TransportError &&
    /tcp:h:1 closed the connection without confirming the load/.test(e.message));
  await rejects(
    readShut(conn(new Error("Connection reset by peer")), "tcp:h:1"),
    (e) =>
      e instanceof TransportError &&
      /tcp:h:1 dropped the connection before confirming the load: Connection reset/.test(e.message),
  );
  await rejects(
    readShut(conn(encodeShut(0).subarray(0, 5)), "tcp:h:1"),
    (e) => e instanceof TransportError && /inside a message \(5 bytes\)/.test(e.message),
  );
  await rejects(
    readShut(conn(new Uint8Array([0, 2, 0, 4, 0, 0, 0, 1])), "tcp:h:1"),
    (e) => e instanceof TransportError && /type 2 length 4/.test(e.message),
  );
});
