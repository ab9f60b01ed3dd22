/**
 * The default human-readable view: an indented tree of everything in the stream, with byte
 * offsets and sizes, so a person can see where each section, field and RAM block sits and
 * what could not be decoded.
 * @module
 */
import type { DecodedStruct, InspectResult, RamBlockInfo, SectionChunk } from "./model.ts";
import { hexBytes } from "../format.ts";
import { formatLeaf } from "./vmsd.ts";

/** Tree rendering knobs. */
export interface TreeOptions {
  /** Show field values (default true). */
  fields?: boolean;
  /** Longest byte buffer shown in full; longer ones are cut (default 32). */
  maxBytes?: number;
}

const hex = (n: number | bigint): string => "0x" + n.toString(16);
const at = (n: number): string => `@${hex(n)}`;

/** Render `result` as an indented text tree (lines joined with `\n`). */
export function renderTree(result: InspectResult, name = "stream", opts: TreeOptions = {}): string {
  const out: string[] = [];
  const line = (depth: number, s: string) => out.push("  ".repeat(depth) + s);
  line(0, `${name}: ${result.size === undefined ? "size unknown" : `${result.size} bytes`}`);
  const h = result.header;
  if (h) line(1, `header @0x0: magic ${hex(h.magic)}, version ${h.version}`);
  const c = result.configuration;
  if (c) {
    const extra = [
      c.pageBits !== undefined ? `target page bits ${c.pageBits}` : "",
      c.capabilities ? `capabilities [${c.capabilities.join(", ")}]` : "",
      c.uuid ? `uuid ${c.uuid}` : "",
    ].filter(Boolean);
    line(
      1,
      `configuration ${at(c.offset)} (${c.size} bytes): machine "${c.machine}"` +
        (extra.length ? `, ${extra.join(", ")}` : ""),
    );
  }
  const ps = result.pageSize;
  line(1, `target page size ${ps.value} (${ps.source})`);
  for (const item of result.items) {
    if (item.type === "command") {
      const d = item.detail;
      const fields = d ? commandFields(d.fields) : "";
      line(
        1,
        `COMMAND ${at(item.offset)}: ${d?.name ?? `cmd ${item.cmd}`}, ${item.length} data bytes` +
          (fields ? `: ${fields}` : "") + (d?.problem ? ` (bad: ${d.problem})` : ""),
      );
      continue;
    }
    renderChunk(item, line, opts);
  }
  for (const s of result.sections.values()) {
    if (s.decoder === "ram" && s.blocks) {
      line(1, `RAM totals for "${s.idstr}" (section ${s.sectionId}):`);
      for (const b of s.blocks) line(2, ramLine(b, ps.value));
    }
  }
  if (result.eof) line(1, `EOF ${at(result.eof.offset)}`);
  const v = result.vmdesc;
  if (v) {
    const how = `${v.method}${v.confirmedByWalk ? ", confirmed by walking the stream" : ""}`;
    const what = v.desc
      ? `page_size ${v.desc.pageSize ?? "?"}, ${v.desc.devices.length} device descriptions`
      : "not usable";
    line(
      1,
      `vmdesc ${
        at(v.offset)
      }: ${v.length} JSON bytes (declared ${v.declaredLength}; found ${how}); ${what}`,
    );
  } else line(1, "vmdesc: none");
  line(
    1,
    `end ${at(result.end.offset)}: ${result.end.complete ? "complete" : "decoding stopped early"}`,
  );
  if (result.warnings.length) {
    line(1, `warnings (${result.warnings.length}):`);
    for (const w of result.warnings) {
      line(2, `${at(w.offset)} [${w.code}]${w.section ? ` ${w.section}:` : ""} ${w.message}`);
    }
  }
  return out.join("\n");
}

function renderChunk(ch: SectionChunk, line: (d: number, s: string) => void, opts: TreeOptions) {
  const head = ch.type === "start" || ch.type === "full"
    ? `${ch.type.toUpperCase()} ${
      at(ch.offset)
    } id=${ch.sectionId} "${ch.idstr}" instance ${ch.instanceId} version ${ch.version}`
    : `${ch.type.toUpperCase()} ${at(ch.offset)} id=${ch.sectionId} ("${ch.idstr}")`;
  const foot = ch.footer
    ? `footer ${at(ch.footer.offset)}${ch.footer.heuristic ? " (found heuristically)" : ""}`
    : "no footer";
  line(1, `${head}: ${ch.size} bytes, payload ${ch.payloadSize} bytes, ${foot}`);
  if (ch.incomplete) line(2, "(payload not fully decoded; see warnings)");
  if (ch.ram) {
    const r = ch.ram;
    if (r.totalSize !== undefined) line(2, `block list, total ${hex(r.totalSize)} bytes`);
    line(
      2,
      `pages: ${r.zeroPages} zero, ${r.dataPages} non-zero` +
        (r.xbzrlePages ? `, ${r.xbzrlePages} xbzrle` : "") +
        (r.otherPages ? `, ${r.otherPages} other` : "") +
        (r.flushes ? `, ${r.flushes} flushes` : "") +
        (r.eos ? "" : ", no EOS"),
    );
  }
  if (ch.decoder === "opaque") line(2, "payload not decoded (no description)");
  if (ch.vmsd && opts.fields !== false) renderStruct(ch.vmsd, 2, line, opts.maxBytes ?? 32);
}

function renderStruct(
  st: DecodedStruct,
  depth: number,
  line: (d: number, s: string) => void,
  maxBytes: number,
): void {
  for (const f of st.fields) {
    const name = f.index === undefined ? f.name : `${f.name}[${f.index}]`;
    const where = `(${f.type}, ${f.size} bytes ${at(f.offset)})`;
    if (f.value.kind === "struct") {
      line(depth, `${name} ${where}:`);
      renderStruct(f.value, depth + 1, line, maxBytes);
      continue;
    }
    let shown: string;
    if (f.value.kind === "bytes" && f.value.bytes.length > maxBytes) {
      shown = `${
        hexBytes(f.value.bytes.subarray(0, maxBytes))
      } ... (${f.value.bytes.length} bytes)`;
    } else shown = String(formatLeaf(f.value));
    line(depth, `${name} = ${shown} ${where}`);
  }
  for (const s of st.subsections) {
    line(depth, `subsection "${s.name}" version ${s.version} ${at(s.offset)}:`);
    renderStruct(s.value, depth + 1, line, maxBytes);
  }
}

function ramLine(b: RamBlockInfo, pageSize: number): string {
  const pages = Number(b.length / BigInt(pageSize));
  return `${b.name}: ${
    hex(b.length)
  } bytes (${pages} pages): ${b.zeroPages} zero, ${b.dataPages} non-zero` +
    (b.xbzrlePages ? `, ${b.xbzrlePages} xbzrle` : "") +
    (b.otherPages ? `, ${b.otherPages} other` : "");
}

/** A command's decoded fields on one line (DISCARD ranges as hex start+length). */
function commandFields(f: Record<string, unknown>): string {
  return Object.entries(f).map(([k, v]) =>
    k === "ranges"
      ? `ranges ${
        (v as [number, number][]).map(([s, l]) => `0x${s.toString(16)}+0x${l.toString(16)}`)
          .join(", ")
      }`
      : `${k} ${typeof v === "string" ? `"${v}"` : v}`
  ).join(", ");
}
