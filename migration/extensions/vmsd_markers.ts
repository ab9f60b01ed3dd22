/**
 * START/END markers around every description (`x-vmsd-markers`), as Peter Xu proposed in the
 * March 2026 subsection thread: the payload of each description, nested struct and subsection
 * is written as `0x7b be32 length <payload> 0x7d`. The length lets the loader know where a
 * description ends before it reads a field, so it can say exactly where and why a stream and a
 * description disagree, attribute subsections by level instead of by name, and skip a subsection
 * it does not know. The source learns the length by writing the payload into a scratch buffer
 * first (QEMU could do the same with a QIOChannelBuffer, as it does for postcopy packages).
 * @module
 */
import { MigrationError, type MigrationErrorLocation, StreamTruncatedError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import type { LoadLayer } from "../vmstate/load.ts";
import type { SaveLayer } from "../vmstate/save.ts";

/** First byte of a bracketed description ('{'), followed by the be32 payload length. */
export const VMSD_START_MARKER = 0x7b;
/** Byte after a bracketed description's payload ('}'). */
export const VMSD_END_MARKER = 0x7d;
/** Bytes the markers add to each description. */
export const VMSD_MARKER_BYTES = 6;

/** A stream and a description disagree on a description's layout (located by the markers). */
export class LayoutMismatchError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}, options?: ErrorOptions) {
    super("incompatible", reason, where, options);
  }
}

/** A marker missing where the stream's own framing says it must be. */
export class MarkerError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("corrupt", reason, where);
  }
}

/** Write a payload with its markers. */
export function writeBracketed(w: StreamWriter, payload: Uint8Array): void {
  w.u8(VMSD_START_MARKER);
  w.be32(payload.length);
  w.bytes(payload);
  w.u8(VMSD_END_MARKER);
}

function plural(n: number): string {
  return `${n} byte${n === 1 ? "" : "s"}`;
}

/**
 * Read a START marker; returns the offset where the payload ends (where END must be). `limit` is
 * the enclosing description's end: a nested payload may not run past it.
 */
export function readStart(r: StreamReader, label: string, limit = Infinity): number {
  const at = r.offset;
  const b = r.u8();
  if (b !== VMSD_START_MARKER) {
    throw new MarkerError(
      `${label}: expected the start marker 0x7b, found 0x${
        b.toString(16)
      }: the stream is not bracketed here`,
      { offset: at },
    );
  }
  const len = r.be32();
  const end = r.offset + len;
  if (end >= limit) {
    throw new MarkerError(
      `${label}: its length ${len} runs past the end marker of the description around it`,
      { offset: at },
    );
  }
  r.checkAvailable(len + 1, `${label} payload`);
  return end;
}

/** The error for a field that read past the end marker: the source sent fewer fields. */
export function overrunError(
  label: string,
  field: string,
  by: number | undefined,
  at: number,
  cause?: unknown,
): LayoutMismatchError {
  return new LayoutMismatchError(
    `${label}: field "${field}" reads ${
      by === undefined ? "" : `${plural(by)} `
    }past the end marker: the source has fewer fields than this side expects`,
    { offset: at },
    cause === undefined ? undefined : { cause },
  );
}

/** After the fields and subsections: the reader must sit on the END marker. */
export function readEnd(r: StreamReader, label: string, end: number): void {
  const at = r.offset;
  if (at < end) {
    throw new LayoutMismatchError(
      `${label}: ${
        plural(end - at)
      } before the end marker: the source has fields this side does not know`,
      { offset: at },
    );
  }
  if (at > end) {
    throw new LayoutMismatchError(
      `${label}: read ${
        plural(at - end)
      } past the end marker: the source has fewer fields than this side expects`,
      { offset: end },
    );
  }
  const b = r.u8();
  if (b !== VMSD_END_MARKER) {
    throw new MarkerError(
      `${label}: expected the end marker 0x7d, found 0x${b.toString(16)}: the stream is damaged`,
      { offset: at },
    );
  }
}

/** Skip one bracketed payload (a subsection this side does not know), markers included. */
export function skipBracketed(r: StreamReader, label: string): number {
  const at = r.offset;
  const end = readStart(r, label);
  r.skip(end - r.offset);
  readEnd(r, label, end);
  return r.offset - at;
}

/** The markers as a save layer of the QEMU-encoding walker. */
export const vmsdMarkersSaveLayer: SaveLayer = { frame: writeBracketed };

/** The markers as a load layer of the QEMU-encoding walker. */
export const vmsdMarkersLoadLayer: LoadLayer = {
  open: readStart,
  close: readEnd,
  field(r, label, name, end, read) {
    const at = r.offset;
    try {
      read();
    } catch (e) {
      const crossed = r.offset > end || e instanceof StreamTruncatedError;
      if (!crossed || !(e instanceof MigrationError) || e instanceof LayoutMismatchError) throw e;
      const by = r.offset > end ? r.offset - end : undefined;
      throw overrunError(label, name, by, at, e).withPath(`.${name}`);
    }
    if (r.offset > end) throw overrunError(label, name, r.offset - end, at).withPath(`.${name}`);
  },
  isSubsection(r, nameLen, end) {
    // A 0x05 is a subsection header rather than unknown field bytes when a bracketed payload
    // that fits the frame follows its name and version.
    const head = r.peekBytes(2 + nameLen + 4, 5);
    if (head.length !== 5 || head[0] !== VMSD_START_MARKER) return false;
    const len = ((head[1] << 24) | (head[2] << 16) | (head[3] << 8) | head[4]) >>> 0;
    return r.offset + 2 + nameLen + 4 + 5 + len + 1 <= end;
  },
  skip(r, label) {
    skipBracketed(r, label);
  },
};
