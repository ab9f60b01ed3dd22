/**
 * QEMU's return path message that ends a migration from the destination's side: MIG_RP_MSG_SHUT
 * (be16 type 1, be16 length 4, be32 status, 0 = loaded). Our destination sends it on the TCP
 * connection once the load is accepted or rejected, and our source waits for it, so `migrate`
 * knows the outcome. A peer that hangs up without it is a failure: a connection dropped
 * mid-stream can look like an orderly close once the stream sits in socket buffers. (A QEMU 7.2
 * destination sends SHUT only when the source opened its return path, which we do not.)
 * @module
 */
import { TransportError } from "../../migration/errors.ts";

/** MIG_RP_MSG_SHUT in QEMU's enum mig_rp_message_type. */
export const MIG_RP_MSG_SHUT = 1;

/** What the destination said. */
export type ReturnPathOutcome = "loaded" | "rejected";

/** The 8 bytes of a SHUT message with `status` (0 = success). */
export function encodeShut(status: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, MIG_RP_MSG_SHUT);
  v.setUint16(2, 4);
  v.setUint32(4, status >>> 0);
  return b;
}

/** Read one SHUT message from `conn`; a peer that hangs up first is a TransportError. */
export async function readShut(
  conn: { read(into: Uint8Array): Promise<number | null> },
  where: string,
): Promise<ReturnPathOutcome> {
  const b = new Uint8Array(8);
  let have = 0;
  while (have < 8) {
    let n: number | null;
    try {
      n = await conn.read(b.subarray(have));
    } catch (e) {
      // A reset, not an orderly close: the peer went away without reading everything.
      throw new TransportError(
        `${where} dropped the connection before confirming the load: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    if (n === null) {
      throw new TransportError(
        have === 0
          ? `${where} closed the connection without confirming the load`
          : `${where}: return path ended inside a message (${have} bytes)`,
      );
    }
    have += n;
  }
  const v = new DataView(b.buffer);
  if (v.getUint16(0) !== MIG_RP_MSG_SHUT || v.getUint16(2) !== 4) {
    throw new TransportError(
      `${where}: unexpected return path message type ${v.getUint16(0)} length ${v.getUint16(2)}`,
    );
  }
  return v.getUint32(4) === 0 ? "loaded" : "rejected";
}
