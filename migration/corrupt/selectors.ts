/**
 * Naming things in a stream the forgiving way: sections by full idstr or a short name
 * (`nvme` → `snapshell-nvme`, `uart` → `serial`), chunks by `section@kind`, subsections by wire
 * name or canonical path, and fields by their canonical path or any unambiguous shortening of
 * it (`serial.lsr` → `serial.serial.lsr`, `nvme.sq[3].tail` → `snapshell-nvme.sq[3].tail`).
 *
 * Short names: an exact label or idstr wins; otherwise a name matches a section whose idstr,
 * split at `-`, `_`, `/` and `.`, has it as one component (case-insensitive), plus the aliases
 * in {@link SECTION_ALIASES}. A name that matches several sections is an error listing them.
 * @module
 */
import type {
  LayoutChunk,
  LayoutField,
  LayoutSubsection,
  StreamLayout,
} from "../inspect/layout.ts";
import { CorruptOpError } from "./errors.ts";

/** Short names that are not a component of the idstr they stand for. */
export const SECTION_ALIASES: Readonly<Record<string, string>> = {
  uart: "serial",
  uart0: "serial",
  timer: "riscv_mtimer",
  clint: "riscv_mtimer",
  hart: "cpu",
};

/** Distinct section labels of a layout, in stream order. */
export function sectionLabels(layout: StreamLayout): string[] {
  return [...new Set(layout.chunks.map((c) => c.section))];
}

/** Resolve a section name to its label, or undefined when nothing matches. Throws when ambiguous. */
export function findSection(layout: StreamLayout, name: string): string | undefined {
  const labels = sectionLabels(layout);
  if (labels.includes(name)) return name;
  const m = /^(.*)#(\d+)$/.exec(name);
  const base = (m ? m[1] : name).toLowerCase();
  const instance = m ? Number(m[2]) : undefined;
  const chunks = layout.chunks.filter((c) => instance === undefined || c.instanceId === instance);
  const exact = unique(chunks.filter((c) => c.idstr.toLowerCase() === base));
  if (exact.length) return pick(exact, name);
  const alias = SECTION_ALIASES[base];
  const hits = unique(chunks.filter((c) =>
    (alias !== undefined && c.idstr === alias) ||
    c.idstr.toLowerCase().split(/[-_/.]/).includes(base)
  ));
  return hits.length ? pick(hits, name) : undefined;
}

function unique(chunks: LayoutChunk[]): string[] {
  return [...new Set(chunks.map((c) => c.section))];
}

function pick(labels: string[], name: string): string {
  if (labels.length > 1) {
    throw new CorruptOpError(
      "ambiguous",
      `section name "${name}" matches ${labels.map((l) => `"${l}"`).join(", ")}`,
    );
  }
  return labels[0];
}

/** Resolve a section name to its label or throw, listing the sections there are. */
export function resolveSection(layout: StreamLayout, name: string): string {
  const label = findSection(layout, name);
  if (label === undefined) {
    throw new CorruptOpError(
      "not-found",
      `no section "${name}" in the stream; sections: ${sectionLabels(layout).join(", ")}`,
    );
  }
  return label;
}

/**
 * The chunks a selector names: `SECTION` (every chunk of the section) or `SECTION@KIND`
 * (`@start`, `@end`, `@full`, `@part`, `@part2` ...).
 */
export function resolveChunks(layout: StreamLayout, selector: string): LayoutChunk[] {
  const exact = layout.chunks.filter((c) => c.selector === selector);
  if (exact.length) return exact;
  const at = selector.lastIndexOf("@");
  const name = at > 0 ? selector.slice(0, at) : selector;
  const kind = at > 0 ? selector.slice(at + 1).toLowerCase() : undefined;
  const label = resolveSection(layout, name);
  const all = layout.chunks.filter((c) => c.section === label);
  if (kind === undefined) return all;
  const hits = all.filter((c) => c.selector === `${label}@${kind}`);
  if (!hits.length) {
    throw new CorruptOpError(
      "not-found",
      `section "${label}" has no ${kind} chunk; it has ${all.map((c) => c.selector).join(", ")}`,
    );
  }
  return hits;
}

/** The first START or FULL chunk a selector names (the one with idstr, instance and version). */
export function resolveHeaderChunk(layout: StreamLayout, selector: string): LayoutChunk {
  const chunk = resolveChunks(layout, selector).find((c) => c.versionOffset !== undefined);
  if (!chunk) {
    throw new CorruptOpError("not-found", `"${selector}" has no START or FULL chunk`);
  }
  return chunk;
}

/** Split a path after its section into components: `a.b[2]/c` → `a`, `b[2]`, `c`. */
function components(rest: string): string[] {
  return rest.split(/[./]/).filter((s) => s.length > 0);
}

/** The section part of a user path and the rest; tries the longest section-looking prefix. */
function splitSection(layout: StreamLayout, path: string): { label: string; rest: string } {
  const cuts: number[] = [];
  for (let i = 1; i <= path.length; i++) {
    if (i === path.length || ".[/".includes(path[i])) cuts.push(i);
  }
  for (const cut of cuts.reverse()) {
    const label = findSection(layout, path.slice(0, cut));
    if (label !== undefined) return { label, rest: path.slice(cut) };
  }
  throw new CorruptOpError(
    "not-found",
    `"${path}" does not start with a section of the stream (${sectionLabels(layout).join(", ")})`,
  );
}

/** A wanted component matches itself, and a name without index matches any element of it. */
function same(want: string, have: string): boolean {
  return want === have || (!want.includes("[") && have.startsWith(want + "["));
}

/** True when `want` is a subsequence of `have` ending at its last element. */
function matches(want: string[], have: string[]): boolean {
  if (!want.length || !same(want[want.length - 1], have[have.length - 1])) return false;
  let i = 0;
  for (const h of have) if (i < want.length && same(want[i], h)) i++;
  return i === want.length;
}

function byPath<T extends { path: string; section: string }>(
  layout: StreamLayout,
  items: T[],
  path: string,
  what: string,
): T {
  const exact = items.find((f) => f.path === path);
  if (exact) return exact;
  const { label, rest } = splitSection(layout, path);
  const want = components(rest);
  const hits = items.filter((f) =>
    f.section === label &&
    (want.length === 0 ? f.path === label : matches(want, components(f.path.slice(label.length))))
  );
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) {
    const shown = hits.slice(0, 8).map((f) => f.path).join(", ");
    throw new CorruptOpError(
      "ambiguous",
      `${what} "${path}" matches ${hits.length}: ${shown}${hits.length > 8 ? ", ..." : ""}`,
    );
  }
  const inSection = items.filter((f) => f.section === label).slice(0, 12).map((f) => f.path);
  throw new CorruptOpError(
    "not-found",
    `no ${what} "${path}" in section "${label}"` +
      (inSection.length
        ? `; it has ${inSection.join(", ")}${inSection.length === 12 ? ", ..." : ""}`
        : ""),
  );
}

/** Resolve a field path (canonical or shortened) to the field. */
export function resolveField(layout: StreamLayout, path: string): LayoutField {
  if (!layout.fields.length) {
    throw new CorruptOpError(
      "no-vmdesc",
      "the stream has no usable vmdesc trailer, so its fields cannot be located",
    );
  }
  return byPath(layout, layout.fields, path, "field");
}

/** Resolve a subsection by wire name (`serial/recv_fifo`) or canonical path. */
export function resolveSubsection(layout: StreamLayout, name: string): LayoutSubsection {
  const byName = layout.subsections.filter((s) => s.name === name);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new CorruptOpError(
      "ambiguous",
      `subsection "${name}" appears ${byName.length} times: ${
        byName.map((s) => s.path).join(", ")
      }`,
    );
  }
  return byPath(layout, layout.subsections, name, "subsection");
}
