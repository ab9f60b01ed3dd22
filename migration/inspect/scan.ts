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
import { SectionType } from "../sections/constants.ts";

const WINDOW = 64 * 1024;

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
 * 0x7e byte. Returns false (with everything consumed) when the stream ends without one. Bytes are
 * gathered `window` at a time (the inspector reads a file in 64 KiB steps); a live stream passes
 * 1, so the scan decides on the bytes already there and waits only when a candidate needs more.
 */
export async function scanToFooter(
  r: StreamReader,
  sectionId: number,
  knownIds: ReadonlySet<number>,
  window = WINDOW,
): Promise<boolean> {
  let want = window;
  for (;;) {
    const eof = await bufferAtLeast(r, want);
    const buf = r.peekBytes(0, r.buffered);
    let i = 0;
    let needMore = false;
    for (; i < buf.length; i++) {
      if (buf[i] !== SectionType.FOOTER) continue;
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
    // A candidate at the start that needs more bytes to decide: at least one more than now.
    want = needMore ? Math.max(window, r.buffered + 1) : window;
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
    case SectionType.EOF:
      if (short(t + 2)) return eof ? "yes" : "more";
      return buf[t + 1] === SectionType.VMDESCRIPTION ? "yes" : "no";
    case SectionType.START:
    case SectionType.FULL: {
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
    case SectionType.PART:
    case SectionType.END:
      if (short(t + 5)) return eof ? "yes" : "more";
      return knownIds.has(be32(buf, t + 1)) ? "yes" : "no";
    case SectionType.COMMAND:
      if (short(t + 5)) return eof ? "yes" : "more";
      return (buf[t + 1] << 8 | buf[t + 2]) <= 0x20 ? "yes" : "no";
    default:
      return "no";
  }
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
