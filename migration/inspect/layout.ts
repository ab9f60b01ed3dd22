/**
 * Where every byte of a stream belongs: the inspector's result turned into addressable pieces
 * (section chunks with the offsets of their header fields, VMSD fields and subsections named by
 * canonical paths, RAM records) and one flat list of labelled ranges that covers the stream.
 * The annotated hex dump, the HTML map and corrupt's structure- and field-level operations all
 * work from this one map.
 *
 * Canonical field paths start with the section (`idstr`, or `idstr#N` for instance N) and
 * follow the vmdesc: `serial.serial.lsr`, `cpu.env.gpr[3]`, `cpu/pmp.env.pmp_state.pmp[0].cfg_reg`
 * (a subsection is `/` plus its name after the parent's), and for arrays of pointers written with
 * presence markers the index is the slot: `snapshell-nvme.sq[3].tail` (its marker byte is
 * `snapshell-nvme.sq[3]`), where the vmdesc, and inspect's tree, count markers and structs alike.
 * @module
 */
import { hex } from "../format.ts";
import { sectionLabel } from "../sections/label.ts";
import type { ByteAccess } from "./byte_access.ts";
import type { DecodedStruct, InspectResult, LeafValue, SectionChunk } from "./model.ts";
import { type RamRecord, walkRamRecords } from "./ram_records.ts";

/** One decoded leaf field. */
export interface LayoutField {
  /** Canonical path, e.g. `serial.serial.lsr`. */
  path: string;
  /** Section label (`idstr` or `idstr#N`). */
  section: string;
  /** Index of the chunk in {@link StreamLayout.chunks}. */
  chunk: number;
  offset: number;
  size: number;
  /** vmdesc type (`uint8`, `bool`, `buffer`, `ptr-marker`, ...). */
  type: string;
  value: LeafValue;
}

/** One subsection inside a section payload. */
export interface LayoutSubsection {
  /** Canonical path of the subsection, e.g. `serial.serial/recv_fifo`. */
  path: string;
  section: string;
  chunk: number;
  /** Wire name, e.g. `serial/recv_fifo`. */
  name: string;
  version: number;
  offset: number;
  /** Marker, name and version bytes. */
  headerSize: number;
  /** Header and content. */
  size: number;
}

/** A section chunk with the offsets of its parts. */
export interface LayoutChunk {
  index: number;
  kind: "start" | "part" | "end" | "full";
  /** Section label (`idstr` or `idstr#N`). */
  section: string;
  /** `label@kind`, with a number for repeated PART chunks (`ram@part2`). */
  selector: string;
  idstr: string;
  instanceId: number;
  sectionId: number;
  version: number;
  offset: number;
  size: number;
  /** Offset of the name length byte, instance and version (START/FULL only). */
  nameOffset?: number;
  instanceOffset?: number;
  versionOffset?: number;
  payloadOffset: number;
  payloadSize: number;
  footerOffset?: number;
  /** RAM records, for `ram` chunks. */
  ramRecords?: RamRecord[];
}

/** What a labelled range is. */
export type RangeKind =
  | "header"
  | "configuration"
  | "section-header"
  | "field"
  | "subsection-header"
  | "ram"
  | "footer"
  | "command"
  | "eof"
  | "vmdesc"
  | "undecoded";

/** A labelled byte range; the list of them covers the stream without overlap. */
export interface LayoutRange {
  offset: number;
  size: number;
  kind: RangeKind;
  /** Section label when inside one. */
  section?: string;
  /** Field path, or the part's name (`version`, `footer`, `page 0x1000`). */
  label: string;
}

/** The vmdesc trailer's parts. */
export interface LayoutVmdesc {
  offset: number;
  jsonOffset: number;
  declaredLength: number;
  length: number;
}

/** Everything addressable in a stream. */
export interface StreamLayout {
  name: string;
  size: number;
  pageSize: number;
  chunks: LayoutChunk[];
  fields: LayoutField[];
  subsections: LayoutSubsection[];
  ranges: LayoutRange[];
  configuration?: { offset: number; size: number };
  eofOffset?: number;
  vmdesc?: LayoutVmdesc;
  /** The inspector's result the layout was built from. */
  result: InspectResult;
}

/** Build the layout of a stream from its inspection and random access to its bytes. */
export async function buildLayout(
  result: InspectResult,
  access: ByteAccess,
): Promise<StreamLayout> {
  const layout: StreamLayout = {
    name: access.name,
    size: access.size,
    pageSize: result.pageSize.value,
    chunks: [],
    fields: [],
    subsections: [],
    ranges: [],
    result,
  };
  const ranges = layout.ranges;
  const add = (offset: number, size: number, kind: RangeKind, label: string, section?: string) => {
    if (size <= 0) return;
    const range: LayoutRange = { offset, size, kind, label };
    if (section) range.section = section;
    ranges.push(range);
  };
  if (result.header) {
    add(0, 4, "header", "magic");
    add(4, 4, "header", "version");
  }
  const conf = result.configuration;
  if (conf) {
    layout.configuration = { offset: conf.offset, size: conf.size };
    add(conf.offset, conf.size, "configuration", `configuration (machine "${conf.machine}")`);
  }
  const counts = new Map<string, number>();
  const ignoreShared = conf?.capabilities?.includes("x-ignore-shared") ?? false;
  const currentBlock = new Map<number, string | undefined>();
  for (const item of result.items) {
    if (item.type === "command") {
      add(item.offset, 5 + item.length, "command", `command ${item.cmd}`);
      continue;
    }
    const chunk = await layoutChunk(item, layout.chunks.length, access, counts);
    layout.chunks.push(chunk);
    const s = chunk.section;
    add(chunk.offset, 1, "section-header", `section type (${chunk.kind.toUpperCase()})`, s);
    add(chunk.offset + 1, 4, "section-header", "section_id", s);
    if (chunk.nameOffset !== undefined) {
      add(chunk.nameOffset, chunk.instanceOffset! - chunk.nameOffset, "section-header", "idstr", s);
      add(chunk.instanceOffset!, 4, "section-header", "instance_id", s);
      add(chunk.versionOffset!, 4, "section-header", "version_id", s);
    }
    if (item.vmsd) collectStruct(item.vmsd, s, s, chunk.index, layout);
    if (item.decoder === "ram") {
      const walk = await walkRamRecords(
        access,
        item.payloadOffset,
        item.payloadOffset + item.payloadSize,
        layout.pageSize,
        currentBlock.get(item.sectionId),
        ignoreShared,
      );
      currentBlock.set(item.sectionId, walk.current);
      chunk.ramRecords = walk.records;
      // Labels of RAM records are made when read (hex, HTML): 266,000 of them in a pc stream.
      for (const r of walk.records) if (r.size > 0) ranges.push(new RamRange(r, s));
    }
    if (chunk.footerOffset !== undefined) add(chunk.footerOffset, 5, "footer", "footer", s);
  }
  for (const f of layout.fields) add(f.offset, f.size, "field", f.path, f.section);
  for (const sub of layout.subsections) {
    add(sub.offset, sub.headerSize, "subsection-header", `subsection ${sub.name}`, sub.section);
  }
  if (result.eof) {
    layout.eofOffset = result.eof.offset;
    add(result.eof.offset, 1, "eof", "EOF");
  }
  const v = result.vmdesc;
  if (v && v.offset < access.size) {
    layout.vmdesc = {
      offset: v.offset,
      jsonOffset: v.jsonOffset,
      declaredLength: v.declaredLength,
      length: v.length,
    };
    add(v.offset, 1, "vmdesc", "vmdesc marker");
    add(v.offset + 1, 4, "vmdesc", "vmdesc length");
    add(v.jsonOffset, v.length, "vmdesc", "vmdesc JSON");
  }
  layout.ranges = fillGaps(ranges, access.size, layout.chunks);
  return layout;
}

async function layoutChunk(
  ch: SectionChunk,
  index: number,
  access: ByteAccess,
  counts: Map<string, number>,
): Promise<LayoutChunk> {
  const section = sectionLabel(ch);
  const key = `${section}@${ch.type}`;
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  const chunk: LayoutChunk = {
    index,
    kind: ch.type,
    section,
    selector: n === 1 ? key : `${key}${n}`,
    idstr: ch.idstr,
    instanceId: ch.instanceId,
    sectionId: ch.sectionId,
    version: ch.version,
    offset: ch.offset,
    size: ch.size,
    payloadOffset: ch.payloadOffset,
    payloadSize: ch.payloadSize,
  };
  if (ch.type === "start" || ch.type === "full") {
    const [len] = await access.read(ch.offset + 5, 1);
    chunk.nameOffset = ch.offset + 5;
    chunk.instanceOffset = ch.offset + 6 + (len ?? 0);
    chunk.versionOffset = chunk.instanceOffset + 4;
  }
  if (ch.footer) chunk.footerOffset = ch.footer.offset;
  return chunk;
}

function collectStruct(
  st: DecodedStruct,
  prefix: string,
  section: string,
  chunk: number,
  layout: StreamLayout,
): void {
  const slots = new Map<string, number>();
  for (const f of st.fields) {
    let seg: string;
    if (f.type === "ptr-marker") {
      const k = (slots.get(f.name) ?? -1) + 1;
      slots.set(f.name, k);
      seg = `${f.name}[${k}]`;
    } else if (slots.has(f.name)) seg = `${f.name}[${slots.get(f.name)}]`;
    else seg = f.index === undefined ? f.name : `${f.name}[${f.index}]`;
    const path = `${prefix}.${seg}`;
    if (f.value.kind === "struct") collectStruct(f.value, path, section, chunk, layout);
    else {
      layout.fields.push({
        path,
        section,
        chunk,
        offset: f.offset,
        size: f.size,
        type: f.type,
        value: f.value,
      });
    }
  }
  for (const sub of st.subsections) {
    const short = sub.name.slice(sub.name.lastIndexOf("/") + 1);
    const path = `${prefix}/${short}`;
    const headerSize = 2 + new TextEncoder().encode(sub.name).length + 4;
    const before = layout.fields.length;
    const subsBefore = layout.subsections.length;
    const entry: LayoutSubsection = {
      path,
      section,
      chunk,
      name: sub.name,
      version: sub.version,
      offset: sub.offset,
      headerSize,
      size: headerSize,
    };
    layout.subsections.push(entry);
    collectStruct(sub.value, path, section, chunk, layout);
    let end = sub.offset + headerSize;
    for (const f of layout.fields.slice(before)) end = Math.max(end, f.offset + f.size);
    for (const s of layout.subsections.slice(subsBefore + 1)) {
      end = Math.max(end, s.offset + s.size);
    }
    entry.size = end - sub.offset;
  }
}

/** The range of one RAM record, its label spelled out only when read. */
class RamRange implements LayoutRange {
  readonly offset: number;
  readonly size: number;
  readonly kind = "ram" as const;
  constructor(private readonly record: RamRecord, readonly section: string) {
    this.offset = record.offset;
    this.size = record.size;
  }
  /** What the record is, as the hex dump and the HTML page show it. */
  get label(): string {
    return ramLabel(this.record);
  }
}

function ramLabel(r: RamRecord): string {
  switch (r.kind) {
    case "mem-size":
      return `RAM total ${hex(r.addr!)} (MEM_SIZE)`;
    case "block":
      return `block "${r.block}" length ${hex(r.addr!)}`;
    case "zero":
      return `"${r.block}" page ${hex(r.addr!)} ZERO fill ${hex(r.fill!)}`;
    case "page":
      return `"${r.block}" page ${hex(r.addr!)} PAGE`;
    case "xbzrle":
      return `"${r.block}" page ${hex(r.addr!)} XBZRLE delta of ${
        r.size - (r.deltaAt! - r.offset) - 3
      } bytes`;
    default:
      return r.kind.toUpperCase();
  }
}

/** Sort ranges, keep the first where they overlap, and label what is left undecoded. */
function fillGaps(ranges: LayoutRange[], size: number, chunks: LayoutChunk[]): LayoutRange[] {
  ranges.sort((a, b) => a.offset - b.offset || a.size - b.size);
  const out: LayoutRange[] = [];
  let at = 0;
  let c = 0;
  const gap = (offset: number, end: number) => {
    while (c < chunks.length && chunks[c].offset + chunks[c].size <= offset) c++;
    const ch = chunks[c];
    const inside = ch !== undefined && ch.offset <= offset;
    out.push({
      offset,
      size: end - offset,
      kind: "undecoded",
      label: inside ? "payload (not decoded)" : "not decoded",
      ...(inside ? { section: ch.section } : {}),
    });
  };
  for (const r of ranges) {
    if (r.offset < at) continue; // overlaps what is already covered (heuristic decodes)
    if (r.offset > at) gap(at, r.offset);
    out.push(r);
    at = r.offset + r.size;
  }
  if (at < size) gap(at, size);
  return out;
}
