/**
 * `inspect --html OUT`: one self-contained page (no external files) that draws a stream as a
 * map, because people would rather look at a stream than read it: a bar of the whole stream in
 * order, a treemap of its sections with their fields nested inside (areas sized by bytes, with a
 * floor so small sections stay clickable), each RAM block as a strip of pages (zero, data, not
 * sent), and a details panel for whatever is clicked (offsets, sizes, types, values).
 * @module
 */
import type { StreamLayout } from "./layout.ts";
import type { RamRecord } from "./ram_records.ts";
import { hexBytes } from "../format.ts";
import { formatLeaf } from "./vmsd.ts";
import { PAGE_SCRIPT, PAGE_STYLE } from "./html_assets.ts";

/** One RAM block as the page strip shows it. */
export interface PageRamBlock {
  block: string;
  length: number;
  /** One character per page: `z` zero, `d` data, `f` filled with a non-zero byte, `-` not sent. */
  pages: string;
  /** Offset of the last record that wrote each page, or -1. */
  offsets: number[];
}

/** Everything the page draws (embedded in it as JSON). */
export interface PageData {
  name: string;
  size: number;
  pageSize: number;
  /** The stream in order: header, configuration, each chunk, EOF, vmdesc, undecoded gaps. */
  bar: { label: string; kind: string; offset: number; size: number; chunk?: number }[];
  chunks: {
    selector: string;
    section: string;
    kind: string;
    offset: number;
    size: number;
    sectionId: number;
    instanceId: number;
    version: number;
    payloadOffset: number;
    payloadSize: number;
    footerOffset?: number;
    fields: number[];
    ram?: number;
  }[];
  fields: { path: string; type: string; offset: number; size: number; value: string }[];
  ram: PageRamBlock[];
  warnings: string[];
}

function fieldValue(v: StreamLayout["fields"][number]["value"]): string {
  if (v.kind === "bytes" && v.bytes.length > 64) {
    return `${hexBytes(v.bytes.subarray(0, 64))} ... (${v.bytes.length} bytes)`;
  }
  return String(formatLeaf(v));
}

function ramBlocks(layout: StreamLayout): { blocks: PageRamBlock[]; byChunk: Map<number, number> } {
  const blocks = new Map<string, PageRamBlock & { chars: string[] }>();
  const byChunk = new Map<number, number>();
  const ps = layout.pageSize;
  for (const c of layout.chunks) {
    for (const r of c.ramRecords ?? []) {
      if (r.kind === "block" && !blocks.has(r.block!)) {
        const n = Math.floor(r.addr! / ps);
        blocks.set(r.block!, {
          block: r.block!,
          length: r.addr!,
          pages: "",
          chars: new Array(n).fill("-"),
          offsets: new Array(n).fill(-1),
        });
      }
      const b = r.block ? blocks.get(r.block) : undefined;
      if (!b) continue;
      byChunk.set(c.index, [...blocks.keys()].indexOf(r.block!));
      if (r.kind === "zero" || r.kind === "page") mark(b, r, ps);
    }
  }
  const out = [...blocks.values()].map(({ chars, ...b }) => ({ ...b, pages: chars.join("") }));
  return { blocks: out, byChunk };
}

function mark(b: { chars: string[]; offsets: number[] }, r: RamRecord, ps: number): void {
  const p = Math.floor(r.addr! / ps);
  if (p < 0 || p >= b.chars.length) return;
  b.chars[p] = r.kind === "page" ? "d" : r.fill ? "f" : "z";
  b.offsets[p] = r.offset;
}

/** The data the page embeds, from a stream's layout. */
export function pageData(layout: StreamLayout): PageData {
  const fieldIndex = new Map<number, number[]>();
  layout.fields.forEach((f, i) => {
    const list = fieldIndex.get(f.chunk) ?? [];
    list.push(i);
    fieldIndex.set(f.chunk, list);
  });
  const { blocks, byChunk } = ramBlocks(layout);
  const bar: PageData["bar"] = [];
  const top = (label: string, kind: string, offset: number, size: number, chunk?: number) => {
    if (size > 0) {
      bar.push({ label, kind, offset, size, ...(chunk === undefined ? {} : { chunk }) });
    }
  };
  top("header", "header", 0, Math.min(8, layout.size));
  if (layout.configuration) {
    top("configuration", "configuration", layout.configuration.offset, layout.configuration.size);
  }
  for (const c of layout.chunks) {
    top(c.selector, c.section === "ram" ? "ram" : "device", c.offset, c.size, c.index);
  }
  if (layout.eofOffset !== undefined) top("EOF", "eof", layout.eofOffset, 1);
  if (layout.vmdesc) {
    top(
      "vmdesc",
      "vmdesc",
      layout.vmdesc.offset,
      layout.vmdesc.jsonOffset + layout.vmdesc.length - layout.vmdesc.offset,
    );
  }
  bar.sort((a, b) => a.offset - b.offset);
  const filled: PageData["bar"] = [];
  let at = 0;
  for (const b of bar) {
    if (b.offset > at) {
      filled.push({ label: "not decoded", kind: "undecoded", offset: at, size: b.offset - at });
    }
    filled.push(b);
    at = Math.max(at, b.offset + b.size);
  }
  if (at < layout.size) {
    filled.push({ label: "not decoded", kind: "undecoded", offset: at, size: layout.size - at });
  }
  return {
    name: layout.name,
    size: layout.size,
    pageSize: layout.pageSize,
    bar: filled,
    chunks: layout.chunks.map((c) => ({
      selector: c.selector,
      section: c.section,
      kind: c.kind,
      offset: c.offset,
      size: c.size,
      sectionId: c.sectionId,
      instanceId: c.instanceId,
      version: c.version,
      payloadOffset: c.payloadOffset,
      payloadSize: c.payloadSize,
      ...(c.footerOffset === undefined ? {} : { footerOffset: c.footerOffset }),
      fields: fieldIndex.get(c.index) ?? [],
      ...(byChunk.has(c.index) ? { ram: byChunk.get(c.index) } : {}),
    })),
    fields: layout.fields.map((f) => ({
      path: f.path,
      type: f.type,
      offset: f.offset,
      size: f.size,
      value: fieldValue(f.value),
    })),
    ram: blocks,
    warnings: layout.result.warnings.map((w) =>
      `@0x${w.offset.toString(16)} [${w.code}] ${w.message}`
    ),
  };
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

/** The page as one HTML document. */
export function renderHtml(layout: StreamLayout): string {
  const data = JSON.stringify(pageData(layout)).replace(/</g, "\\u003c");
  const title = escapeHtml(`${layout.name}: migration stream map`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>${title}</h1><div id="summary"></div></header>
<main>
<section id="left">
<h2>Stream, in order</h2><div id="bar"></div>
<h2>Sections and fields <small>(area by bytes; tiny ones drawn at a minimum size)</small></h2>
<input id="filter" placeholder="highlight fields matching (e.g. lsr, sq[3], env.pc)">
<div id="map"></div>
<h2>RAM pages</h2><div id="ram"></div>
<div id="legend"></div>
</section>
<aside id="details"><p>Click a section, a field or a RAM page.</p></aside>
</main>
<script type="application/json" id="data">${data}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
