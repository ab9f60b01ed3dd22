/**
 * The annotated hex dump (`inspect --hex`): every byte of the stream, in order, with each range
 * labelled by its section and field path (`serial.serial.lsr = 0x60 (uint8)`), its header part
 * (`section_id`, `version_id`, `footer`) or its RAM record. Long ranges (page contents, disk
 * images, the vmdesc JSON) show their first and last lines; runs of identical ZERO records are
 * folded into one line. Bytes are read in windows, so the dump streams through big files.
 * @module
 */
import type { ByteAccess } from "./byte_access.ts";
import type { LayoutField, LayoutRange, StreamLayout } from "./layout.ts";
import { formatLeaf } from "./vmsd.ts";

/** Dump knobs. */
export interface HexOptions {
  /** Ranges longer than this many bytes show only their first and last lines (default 64). */
  maxBytes?: number;
  /** Bytes per line (default 16). */
  width?: number;
}

const WINDOW = 256 * 1024;

/** Reads forward through a stream with a window (ranges come in order). */
class Window {
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  constructor(private readonly access: ByteAccess) {}
  async get(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.base || offset + length > this.base + this.buf.length) {
      if (length > WINDOW) return await this.access.read(offset, length);
      this.base = offset;
      this.buf = await this.access.read(offset, WINDOW);
    }
    return this.buf.subarray(offset - this.base, offset - this.base + length);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hexLine(offset: number, bytes: Uint8Array, width: number): string {
  let h = "";
  let a = "";
  for (let i = 0; i < width; i++) {
    if (i < bytes.length) {
      h += HEX[bytes[i]] + " ";
      a += bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : ".";
    } else h += "   ";
    if (i === 7) h += " ";
  }
  return `${offset.toString(16).padStart(8, "0")}  ${h} ${a.padEnd(width)}`;
}

function labelOf(r: LayoutRange, field: LayoutField | undefined): string {
  if (field) {
    const v = field.value.kind === "bytes" && field.size > 16
      ? `${field.size} bytes`
      : String(formatLeaf(field.value));
    return `${field.path} = ${v} (${field.type})`;
  }
  if (r.kind === "field") return r.label;
  return r.section ? `${r.section}: ${r.label}` : r.label;
}

/** A run of ranges folded into one dump entry. */
interface Entry {
  offset: number;
  size: number;
  label: string;
}

/** Fold consecutive ZERO-fill-0 records of one RAM block into a single entry. */
function entries(layout: StreamLayout): Entry[] {
  const fields = new Map(layout.fields.map((f) => [f.offset, f]));
  const out: Entry[] = [];
  let run: { first: LayoutRange; last: LayoutRange; n: number; block: string } | undefined;
  const flush = () => {
    if (!run) return;
    const { first, last, n } = run;
    out.push({
      offset: first.offset,
      size: last.offset + last.size - first.offset,
      label: n === 1
        ? labelOf(first, undefined)
        : `${first.section}: ${n} ZERO records "${run.block}" ` +
          `${zeroAddr(first)}..${zeroAddr(last)}`,
    });
    run = undefined;
  };
  for (const r of layout.ranges) {
    const z = r.kind === "ram" ? /^"(.*)" page (0x[0-9a-f]+) ZERO fill 0x0$/.exec(r.label) : null;
    if (z) {
      if (run && run.block === z[1] && run.last.offset + run.last.size === r.offset) {
        run.last = r;
        run.n++;
        continue;
      }
      flush();
      run = { first: r, last: r, n: 1, block: z[1] };
      continue;
    }
    flush();
    out.push({
      offset: r.offset,
      size: r.size,
      label: labelOf(r, r.kind === "field" ? fields.get(r.offset) : undefined),
    });
  }
  flush();
  return out;
}

function zeroAddr(r: LayoutRange): string {
  return /page (0x[0-9a-f]+)/.exec(r.label)?.[1] ?? "?";
}

/**
 * The dump, line by line: `emit` is called for every line (so a 1 GiB stream never becomes one
 * string). Labels go on the first line of their range.
 */
export async function renderHex(
  layout: StreamLayout,
  access: ByteAccess,
  emit: (line: string) => void,
  opts: HexOptions = {},
): Promise<void> {
  const width = opts.width ?? 16;
  const max = Math.max(opts.maxBytes ?? 64, width);
  const win = new Window(access);
  emit(`${layout.name}: ${layout.size} bytes (offset, bytes, text, what they are)`);
  for (const e of entries(layout)) {
    const lines = Math.ceil(e.size / width);
    const shown = e.size > max ? [0, 1, lines - 1] : Array.from({ length: lines }, (_, i) => i);
    let last = -1;
    for (const i of shown) {
      if (i <= last) continue;
      if (i > last + 1) {
        emit(`${" ".repeat(10)}... ${(i - last - 1) * width} more bytes ...`);
      }
      const at = e.offset + i * width;
      const bytes = await win.get(at, Math.min(width, e.offset + e.size - at));
      const line = hexLine(at, bytes, width);
      emit(i === 0 ? `${line}  ${e.label}` : line);
      last = i;
    }
  }
}

/** The whole dump as one string (tests, small streams). */
export async function hexDump(
  layout: StreamLayout,
  access: ByteAccess,
  opts: HexOptions = {},
): Promise<string> {
  const lines: string[] = [];
  await renderHex(layout, access, (l) => lines.push(l), opts);
  return lines.join("\n");
}
