/**
 * QEMU 7.2's postcopy return path (migration.c; the stream's commands are in
 * migration/sections/postcopy_commands.ts): be16 type, be16 length, then SHUT (be32 status), PONG (be32 value),
 * REQ_PAGES (be64 start, be32 length) and REQ_PAGES_ID (the same, then u8 length and the RAM
 * block's name).
 * @module
 */
import { TransportError } from "../../migration/errors.ts";

/** QEMU's enum mig_rp_message_type. */
export const RpMessage = {
  INVALID: 0,
  SHUT: 1,
  PONG: 2,
  REQ_PAGES_ID: 3,
  REQ_PAGES: 4,
} as const;

/** A page request (REQ_PAGES carries no name: the block of the previous one). */
export interface PageRequest {
  /** Byte offset in the block. */
  start: number;
  /** Bytes asked for. */
  length: number;
  /** RAM block name (REQ_PAGES_ID), undefined for REQ_PAGES. */
  idstr?: string;
}

/** Encode a return-path message. */
export function encodeRp(type: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, type);
  v.setUint16(2, payload.length);
  b.set(payload, 4);
  return b;
}

/** REQ_PAGES_ID (with a name) or REQ_PAGES (the same block as before). */
export function encodeRequest(req: PageRequest): Uint8Array {
  const name = req.idstr === undefined ? undefined : new TextEncoder().encode(req.idstr);
  const p = new Uint8Array(12 + (name ? 1 + name.length : 0));
  const v = new DataView(p.buffer);
  v.setBigUint64(0, BigInt(req.start));
  v.setUint32(8, req.length);
  if (name) {
    p[12] = name.length;
    p.set(name, 13);
  }
  return encodeRp(name ? RpMessage.REQ_PAGES_ID : RpMessage.REQ_PAGES, p);
}

/** A decoded return-path message. */
export type RpMessageValue =
  | { type: "shut"; status: number }
  | { type: "pong"; value: number }
  | { type: "request"; request: PageRequest };

/** Reads return-path messages off a connection, one at a time. */
export class ReturnPathReader {
  private buf = new Uint8Array(0);
  constructor(
    private readonly conn: { read(into: Uint8Array): Promise<number | null> },
    private readonly where: string,
  ) {}

  private async need(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const chunk = new Uint8Array(4096);
      let got: number | null;
      try {
        got = await this.conn.read(chunk);
      } catch (e) {
        throw new TransportError(
          `${this.where}: the return path failed: ${(e as Error).message}`,
          {},
          { cause: e },
        );
      }
      if (got === null) return false;
      const next = new Uint8Array(this.buf.length + got);
      next.set(this.buf);
      next.set(chunk.subarray(0, got), this.buf.length);
      this.buf = next;
    }
    return true;
  }

  /** The next message, or null when the peer closed the connection between messages. */
  async next(): Promise<RpMessageValue | null> {
    if (!(await this.need(4))) {
      if (this.buf.length === 0) return null;
      throw new TransportError(`${this.where}: the return path ended inside a message header`);
    }
    const v = new DataView(this.buf.buffer, this.buf.byteOffset);
    const type = v.getUint16(0), len = v.getUint16(2);
    if (!(await this.need(4 + len))) {
      throw new TransportError(`${this.where}: the return path ended inside a message`);
    }
    const p = this.buf.slice(4, 4 + len);
    this.buf = this.buf.slice(4 + len);
    const pv = new DataView(p.buffer);
    const bad = () =>
      new TransportError(`${this.where}: bad return path message type ${type} length ${len}`);
    switch (type) {
      case RpMessage.SHUT:
        if (len !== 4) throw bad();
        return { type: "shut", status: pv.getUint32(0) };
      case RpMessage.PONG:
        if (len !== 4) throw bad();
        return { type: "pong", value: pv.getUint32(0) };
      case RpMessage.REQ_PAGES:
        if (len !== 12) throw bad();
        return {
          type: "request",
          request: { start: Number(pv.getBigUint64(0)), length: pv.getUint32(8) },
        };
      case RpMessage.REQ_PAGES_ID: {
        if (len < 13 || len !== 13 + p[12]) throw bad();
        return {
          type: "request",
          request: {
            start: Number(pv.getBigUint64(0)),
            length: pv.getUint32(8),
            idstr: new TextDecoder().decode(p.subarray(13)),
          },
        };
      }
      default:
        throw bad();
    }
  }
}
