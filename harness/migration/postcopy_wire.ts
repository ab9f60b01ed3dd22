/**
 * QEMU 7.2's postcopy messages, both directions. On the stream (QEMU_VM_COMMAND, savevm.c):
 * OPEN_RETURN_PATH, PING, POSTCOPY_ADVISE (be64 page-size summary, be64 target page size),
 * POSTCOPY_RAM_DISCARD (u8 version 0, u8 name length, name, NUL, then be64 start / be64 length
 * byte ranges, at most 12 per command), PACKAGED (be32 length, then that many bytes of inner
 * stream: LISTEN, the device sections, PING, RUN), POSTCOPY_LISTEN, POSTCOPY_RUN. On the return
 * path (migration.c): be16 type, be16 length, then SHUT (be32 status), PONG (be32 value),
 * REQ_PAGES (be64 start, be32 length) and REQ_PAGES_ID (the same, then u8 length and the RAM
 * block's name).
 * @module
 */
import { StreamFormatError, TransportError } from "../../migration/errors.ts";
import { MigCommand, SectionType } from "../../migration/sections/constants.ts";
import type { StreamWriter } from "../../migration/stream/writer.ts";

/** QEMU's enum mig_rp_message_type. */
export const RpMessage = {
  INVALID: 0,
  SHUT: 1,
  PONG: 2,
  REQ_PAGES_ID: 3,
  REQ_PAGES: 4,
} as const;

/** QEMU's MAX_DISCARDS_PER_COMMAND. */
export const MAX_DISCARDS_PER_COMMAND = 12;

/** QEMU's MAX_VM_CMD_PACKAGED_SIZE (1 << 24). */
export const MAX_PACKAGED_SIZE = 1 << 24;

/** Write one QEMU_VM_COMMAND (QEMU's qemu_savevm_command_send). */
export function writeCommand(w: StreamWriter, cmd: number, payload?: Uint8Array): void {
  w.u8(SectionType.COMMAND);
  w.be16(cmd);
  w.be16(payload?.length ?? 0);
  if (payload) w.bytes(payload);
}

/** MIG_CMD_POSTCOPY_ADVISE's payload: page-size summary and target page size. */
export function advisePayload(pageSize: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(pageSize));
  v.setBigUint64(8, BigInt(pageSize));
  return b;
}

/** MIG_CMD_PING's payload. */
export function pingPayload(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0);
  return b;
}

/** The MIG_CMD_POSTCOPY_RAM_DISCARD payloads for `ranges` of one block, 12 ranges each. */
export function discardPayloads(idstr: string, ranges: [number, number][]): Uint8Array[] {
  const name = new TextEncoder().encode(idstr);
  const out: Uint8Array[] = [];
  for (let i = 0; i < ranges.length; i += MAX_DISCARDS_PER_COMMAND) {
    const part = ranges.slice(i, i + MAX_DISCARDS_PER_COMMAND);
    const b = new Uint8Array(3 + name.length + 16 * part.length);
    const v = new DataView(b.buffer);
    b[0] = 0;
    b[1] = name.length;
    b.set(name, 2);
    let at = 3 + name.length; // after the NUL
    for (const [start, len] of part) {
      v.setBigUint64(at, BigInt(start));
      v.setBigUint64(at + 8, BigInt(len));
      at += 16;
    }
    out.push(b);
  }
  return out;
}

/** A decoded MIG_CMD_POSTCOPY_RAM_DISCARD. */
export interface DiscardCommand {
  /** RAM block name. */
  idstr: string;
  /** Byte ranges [start, length]. */
  ranges: [number, number][];
}

/** Decode a discard payload (QEMU's loadvm_postcopy_ram_handle_discard checks). */
export function decodeDiscard(p: Uint8Array, at: number): DiscardCommand {
  const bad = (why: string, path: string) =>
    new StreamFormatError(`CMD_POSTCOPY_RAM_DISCARD: ${why}`, { offset: at, path });
  if (p.length < 3) throw bad(`${p.length} bytes is too short`, "discard.length");
  if (p[0] !== 0) throw bad(`unknown version ${p[0]}`, "discard.version");
  const n = p[1];
  if (p.length < 3 + n || (p.length - 3 - n) % 16 !== 0) {
    throw bad(
      `length ${p.length} does not fit a name of ${n} bytes and 16-byte ranges`,
      "discard.length",
    );
  }
  if (p[2 + n] !== 0) throw bad("block name is not NUL terminated", "discard.name");
  const idstr = new TextDecoder().decode(p.subarray(2, 2 + n));
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ranges: [number, number][] = [];
  for (let o = 3 + n; o < p.length; o += 16) {
    ranges.push([Number(v.getBigUint64(o)), Number(v.getBigUint64(o + 8))]);
  }
  return { idstr, ranges };
}

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

/** Names of the postcopy commands for messages and inspect. */
export function commandName(cmd: number): string {
  const e = Object.entries(MigCommand).find(([, v]) => v === cmd);
  return e ? `MIG_CMD_${e[0]}` : `command ${cmd}`;
}
