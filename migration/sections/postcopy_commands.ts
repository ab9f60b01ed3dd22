/**
 * QEMU 7.2's postcopy commands on the stream (QEMU_VM_COMMAND, savevm.c), encoded and decoded in
 * one place for the migration harness, inspect and corrupt: OPEN_RETURN_PATH, PING,
 * POSTCOPY_ADVISE (be64 page-size summary, be64 target page size), POSTCOPY_RAM_DISCARD (u8
 * version 0, u8 name length, name, NUL, then be64 start / be64 length byte ranges, at most 12
 * per command), PACKAGED (be32 length, then that many bytes of inner stream: LISTEN, the device
 * sections, PING, RUN), POSTCOPY_LISTEN, POSTCOPY_RUN.
 * @module
 */
import { MigrationError, StreamFormatError } from "../errors.ts";
import type { StreamWriter } from "../stream/writer.ts";
import { MigCommand, SectionType } from "./constants.ts";

/** Write one QEMU_VM_COMMAND (QEMU's qemu_savevm_command_send). */
export function writeCommand(w: StreamWriter, cmd: number, payload?: Uint8Array): void {
  w.u8(SectionType.COMMAND);
  w.be16(cmd);
  w.be16(payload?.length ?? 0);
  if (payload) w.bytes(payload);
}

/** QEMU's MAX_DISCARDS_PER_COMMAND. */
export const MAX_DISCARDS_PER_COMMAND = 12;

/** QEMU's MAX_VM_CMD_PACKAGED_SIZE (1 << 24). */
export const MAX_PACKAGED_SIZE = 1 << 24;

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
    new StreamFormatError(`MIG_CMD_POSTCOPY_RAM_DISCARD: ${why}`, { offset: at, path });
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

/** Names of the postcopy commands for messages and inspect. */
export function commandName(cmd: number): string {
  const e = Object.entries(MigCommand).find(([, v]) => v === cmd);
  return e ? `MIG_CMD_${e[0]}` : `command ${cmd}`;
}

/** A command's payload in words, for inspect: its name and decoded fields. */
export interface CommandDetail {
  /** MIG_CMD_... name. */
  name: string;
  /** Decoded fields (ADVISE page sizes, DISCARD block and ranges, PACKAGED length, PING value). */
  fields: Record<string, unknown>;
  /** Why the payload does not decode, if it does not. */
  problem?: string;
}

/** Decode a command's payload for display; never throws (a bad payload gets a `problem`). */
export function describeCommand(cmd: number, p: Uint8Array, at: number): CommandDetail {
  const name = commandName(cmd);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  try {
    switch (cmd) {
      case MigCommand.PING:
        return p.length === 4
          ? { name, fields: { value: v.getUint32(0) } }
          : { name, fields: {}, problem: `length ${p.length}, expected 4` };
      case MigCommand.POSTCOPY_ADVISE:
        if (p.length === 0) return { name, fields: {} };
        return p.length === 16
          ? {
            name,
            fields: {
              pageSizeSummary: Number(v.getBigUint64(0)),
              targetPageSize: Number(v.getBigUint64(8)),
            },
          }
          : { name, fields: {}, problem: `length ${p.length}, expected 0 or 16` };
      case MigCommand.POSTCOPY_RAM_DISCARD: {
        const d = decodeDiscard(p, at);
        return { name, fields: { block: d.idstr, ranges: d.ranges } };
      }
      case MigCommand.PACKAGED:
        return p.length === 4
          ? { name, fields: { length: v.getUint32(0) } }
          : { name, fields: {}, problem: `length ${p.length}, expected 4` };
      default:
        return { name, fields: p.length ? { bytes: p.length } : {} };
    }
  } catch (e) {
    const why = e instanceof MigrationError ? e.reason : String(e);
    return { name, fields: {}, problem: why.replace(/^MIG_CMD_\w+: /, "") };
  }
}
