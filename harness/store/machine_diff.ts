/**
 * Field-by-field comparison of two machines: every section decoded through its description is
 * compared leaf by leaf (`cpu env.pc`, `serial serial.lsr`), arrays element by element, buffers
 * byte by byte, and RAM page by page. Both sides are compared as a stream carries them: a
 * snapshot is loaded into a fresh machine, and a live machine is first saved and loaded into a
 * fresh one ({@link decodedCopy}), so state a stream does not carry (a subsection that is not
 * needed) never shows up as a difference.
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { PAGE_SIZE } from "../../emu/ram.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import {
  deviceSections,
  type FieldLeaf,
  formatValue,
  isScalarArray,
  sectionFields,
  sectionLabel,
} from "./device_state.ts";

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

/** Compare the device state of two machines field by field. */
export function diffFields(a: Machine, b: Machine): FieldDifference[] {
  const out: FieldDifference[] = [];
  const sa = new Map(deviceSections(a).map((e) => [sectionLabel(e), e]));
  const sb = new Map(deviceSections(b).map((e) => [sectionLabel(e), e]));
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
    const la = new Map(sectionFields(ea).map((l) => [l.path, l]));
    const lb = new Map(sectionFields(eb).map((l) => [l.path, l]));
    for (const path of new Set([...la.keys(), ...lb.keys()])) {
      compareLeaf(label, la.get(path), lb.get(path), out);
    }
  }
  return out;
}

/** Guest addresses of the RAM pages that differ (over the common size). */
export function diffRamPages(a: Machine, b: Machine): number[] {
  const common = Math.min(a.ram.size, b.ram.size);
  const wa = a.ram.u32, wb = b.ram.u32;
  const perPage = PAGE_SIZE / 4;
  const pages: number[] = [];
  for (let p = 0; p < common / PAGE_SIZE; p++) {
    for (let i = p * perPage, end = i + perPage; i < end; i++) {
      if (wa[i] !== wb[i]) {
        pages.push(a.ram.base + p * PAGE_SIZE);
        break;
      }
    }
  }
  return pages;
}

/** Compare two machines: device fields and RAM pages. */
export function diffMachines(a: Machine, b: Machine): MachineDiff {
  return { fields: diffFields(a, b), ramSize: [a.ram.size, b.ram.size], pages: diffRamPages(a, b) };
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
