/**
 * The one machine diff: every section decoded through its description is compared leaf by leaf
 * (`cpu env.pc`, `serial serial.lsr`), arrays element by element, buffers byte by byte, and RAM
 * page by page over the size both sides have (RAM of different sizes is a difference of its
 * own, never a crash). Values read as the one value formatter writes them. The store's `diff`
 * and `expect equal` compare both sides as a stream carries them (a snapshot is loaded into a
 * fresh machine, a live machine first saved and loaded into one, {@link decodedCopy}); replay
 * names the fields of the sections it found different with the same functions.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Machine } from "../../emu/machine.ts";
import { PAGE_SIZE } from "../../emu/ram.ts";
import { formatValue, isScalarArray } from "../../migration/format.ts";
import { sectionLabel } from "../../migration/sections/label.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { deviceSections, type FieldLeaf, sectionFields } from "./device_state.ts";

/** One differing field. */
export interface FieldDifference {
  /** Section label. */
  section: string;
  /** Field path (with an index for array elements). */
  path: string;
  /** Rendered value on side A ("(absent)" when missing). */
  a: string;
  /** Rendered value on side B. */
  b: string;
}

/** Differences between two machines. */
export interface MachineDiff {
  /** Differing fields, in section then field order. */
  fields: FieldDifference[];
  /** RAM sizes of both sides. */
  ramSize: [number, number];
  /** Guest physical addresses of the 4 KiB pages whose contents differ. */
  pages: number[];
}

function scalarEqual(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "number" && typeof b === "number" && isNaN(a) && isNaN(b));
}

function compareLeaf(
  section: string,
  a: FieldLeaf | undefined,
  b: FieldLeaf | undefined,
  out: FieldDifference[],
): void {
  const path = (a ?? b)!.path;
  if (!a || !b) {
    out.push({
      section,
      path,
      a: a ? formatValue(a.value) : "(absent)",
      b: b ? formatValue(b.value) : "(absent)",
    });
    return;
  }
  const va = a.value, vb = b.value;
  if (va instanceof Uint8Array && vb instanceof Uint8Array) {
    if (va.length !== vb.length) {
      out.push({ section, path, a: `${va.length} bytes`, b: `${vb.length} bytes` });
      return;
    }
    let n = 0, first = -1;
    for (let i = 0; i < va.length; i++) {
      if (va[i] !== vb[i]) {
        n++;
        if (first < 0) first = i;
      }
    }
    if (n > 0) {
      out.push({
        section,
        path,
        a: `${n} byte${n === 1 ? "" : "s"} differ, first [${first}] = ${formatValue(va[first])}`,
        b: `[${first}] = ${formatValue(vb[first])}`,
      });
    }
    return;
  }
  if (isScalarArray(va) && isScalarArray(vb) && va.length === vb.length) {
    for (let i = 0; i < va.length; i++) {
      if (!scalarEqual(va[i], vb[i])) {
        out.push({ section, path: `${path}[${i}]`, a: formatValue(va[i]), b: formatValue(vb[i]) });
      }
    }
    return;
  }
  const fa = formatValue(va, Infinity), fb = formatValue(vb, Infinity);
  if (!scalarEqual(va, vb) && fa !== fb) out.push({ section, path, a: fa, b: fb });
}

/**
 * Compare the device state of two machines field by field; `only` restricts it to the sections
 * with those labels (replay names the fields of the sections whose saved bytes differ).
 */
export function diffFields(a: Machine, b: Machine, only?: ReadonlySet<string>): FieldDifference[] {
  const out: FieldDifference[] = [];
  const pick = (m: Machine) =>
    new Map(
      deviceSections(m).map((e) => [sectionLabel(e), e] as const)
        .filter(([label]) => !only || only.has(label)),
    );
  const sa = pick(a), sb = pick(b);
  for (const label of new Set([...sa.keys(), ...sb.keys()])) {
    const ea = sa.get(label), eb = sb.get(label);
    if (!ea || !eb) {
      out.push({
        section: label,
        path: "(section)",
        a: ea ? "present" : "(absent)",
        b: eb ? "present" : "(absent)",
      });
      continue;
    }
    const la = new Map(sectionFields(ea, true).map((l) => [l.path, l]));
    const lb = new Map(sectionFields(eb, true).map((l) => [l.path, l]));
    for (const path of new Set([...la.keys(), ...lb.keys()])) {
      compareLeaf(label, la.get(path), lb.get(path), out);
    }
  }
  return out;
}

/** How the RAM of two machines differs. */
export interface RamDifference {
  /** RAM sizes of both sides. */
  sizes: [number, number];
  /** Guest addresses of the pages that differ over the size both have (at most `limit`). */
  pages: number[];
}

/**
 * Compare RAM page by page over the common size (one native compare of the whole of it first,
 * page by page only when something differs); sizes are reported, so different sizes are a
 * readable difference rather than a crash.
 */
export function diffRam(a: Machine, b: Machine, limit = Infinity): RamDifference {
  const common = Math.min(a.ram.size, b.ram.size);
  const ua = Buffer.from(a.ram.u8.buffer, a.ram.u8.byteOffset, common);
  const ub = Buffer.from(b.ram.u8.buffer, b.ram.u8.byteOffset, common);
  const pages: number[] = [];
  if (Buffer.compare(ua, ub) !== 0) {
    for (let off = 0; off < common && pages.length < limit; off += PAGE_SIZE) {
      if (Buffer.compare(ua.subarray(off, off + PAGE_SIZE), ub.subarray(off, off + PAGE_SIZE))) {
        pages.push(a.ram.base + off);
      }
    }
  }
  return { sizes: [a.ram.size, b.ram.size], pages };
}

/** Compare two machines: device fields and RAM pages. */
export function diffMachines(a: Machine, b: Machine): MachineDiff {
  const ram = diffRam(a, b);
  return { fields: diffFields(a, b), ramSize: ram.sizes, pages: ram.pages };
}

/** True when the two machines hold the same state. */
export function machinesEqual(d: MachineDiff): boolean {
  return d.fields.length === 0 && d.pages.length === 0 && d.ramSize[0] === d.ramSize[1];
}

/** Group page addresses into ranges `[start, endExclusive)` for display. */
export function pageRanges(pages: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of pages) {
    const last = out[out.length - 1];
    if (last && last[1] === p) last[1] = p + PAGE_SIZE;
    else out.push([p, p + PAGE_SIZE]);
  }
  return out;
}

/** `m` as a stream carries it: saved in memory and loaded into `fresh` (which is returned). */
export async function decodedCopy<M extends Machine>(m: Machine, fresh: M): Promise<M> {
  const w = new StreamWriter();
  await m.save(w);
  await fresh.load(StreamReader.fromBytes(w.take()));
  return fresh;
}
