/**
 * Heuristic end-of-section search for payloads the inspector has no schema for.
 *
 * The stream has no lengths, so without a vmdesc the only way past a FULL section is to look
 * for its footer: `0x7e` + be32 section_id followed by something that plausibly starts the next
 * item (a section header with a printable idstr, a known section id, a command, or EOF followed
 * by the vmdesc marker or the end of the stream). Payload bytes can fake this, so every result
 * is reported as heuristic. When the stream ends inside the next item, the footer is accepted so a
 * truncated stream still shows where the last section ended.
 * @module
 */
import type { StreamReader } from "../stream/reader.ts";
import { QEMU_VM } from "./model.ts";

const WINDOW = 64 * 1024;
const LOOKAHEAD = 5 + 1 + 4 + 1 + 255 + 8;

/** Buffer at least `n` bytes if the stream has them; true when the stream ended first. */
export async function bufferAtLeast(r: StreamReader, n: number): Promise<boolean> {
  while (r.buffered < n) {
    if (!(await r.fill(n - r.buffered))) return r.buffered < n;
  }
  return false;
}

type Verdict = "yes" | "no" | "more";

/**
 * Skip payload bytes until a plausible footer for `sectionId`; the reader is left on the footer's
 * 0x7e byte. Returns false (with everything consumed) when the stream ends without one.
 */
export async function scanToFooter(
  r: StreamReader,
  sectionId: number,
  knownIds: ReadonlySet<number>,
): Promise<boolean> {
  let want = WINDOW;
  for (;;) {
    const eof = await bufferAtLeast(r, want);
    const buf = r.peekBytes(0, r.buffered);
    let i = 0;
    let needMore = false;
    for (; i < buf.length; i++) {
      if (buf[i] !== QEMU_VM.SECTION_FOOTER) continue;
      const v = plausibleFooter(buf, i, sectionId, knownIds, eof);
      if (v === "yes") {
        r.skip(i);
        return true;
      }
      if (v === "more") {
        needMore = true;
        break;
      }
    }
    if (eof && !needMore) {
      r.skip(buf.length);
      return false;
    }
    r.skip(i);
    want = needMore ? Math.max(WINDOW, r.buffered + LOOKAHEAD) : WINDOW;
  }
}

/** Is there a footer for `id` at `buf[i]` followed by a plausible next item? */
export function plausibleFooter(
  buf: Uint8Array,
  i: number,
  id: number,
  knownIds: ReadonlySet<number>,
  eof: boolean,
): Verdict {
  const short = (end: number): boolean => end > buf.length;
  if (short(i + 5)) return eof ? "no" : "more";
  if (be32(buf, i + 1) !== id) return "no";
  const t = i + 5;
  if (short(t + 1)) return eof ? "yes" : "more";
  const next = buf[t];
  switch (next) {
    case QEMU_VM.EOF:
      if (short(t + 2)) return eof ? "yes" : "more";
      return buf[t + 1] === QEMU_VM.VMDESCRIPTION ? "yes" : "no";
    case QEMU_VM.SECTION_START:
    case QEMU_VM.SECTION_FULL: {
      if (short(t + 6)) return eof ? "yes" : "more";
      const n = buf[t + 5];
      if (n === 0) return "no";
      if (short(t + 6 + n + 8)) return eof ? "yes" : "more";
      for (let k = 0; k < n; k++) {
        const c = buf[t + 6 + k];
        if (c < 0x20 || c > 0x7e) return "no";
      }
      return "yes";
    }
    case QEMU_VM.SECTION_PART:
    case QEMU_VM.SECTION_END:
      if (short(t + 5)) return eof ? "yes" : "more";
      return knownIds.has(be32(buf, t + 1)) ? "yes" : "no";
    case QEMU_VM.COMMAND:
      if (short(t + 5)) return eof ? "yes" : "more";
      return (buf[t + 1] << 8 | buf[t + 2]) <= 0x20 ? "yes" : "no";
    default:
      return "no";
  }
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
