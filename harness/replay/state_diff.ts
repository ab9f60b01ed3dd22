/**
 * Comparing two machines the way that matters for their future: every section as its
 * description would save it, plus every property of the live records that no description
 * carries (so a field missing from a description still shows up, by name), the guest's exit
 * status and RAM page by page. Differences are named by section, path and both values.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Machine } from "../../emu/machine.ts";
import { formatBytes, formatValue } from "../../migration/format.ts";
import type { VmStateDescription } from "../../migration/vmstate/description.ts";
import { VMS } from "../../migration/vmstate/flags.ts";
import { saveState } from "../../migration/vmstate/save.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { sectionLabel } from "../../migration/sections/label.ts";
import { diffFields, diffRam } from "../store/machine_diff.ts";

/** One difference between a reference machine and a replayed one. */
export interface StateDifference {
  /** Section label (`serial`, `cpu`, `snapshell-nvme`), `hart`, `machine` or `ram`. */
  device: string;
  /** Property path inside the record (`serial.ier`, `env.pc`, `sq[3].tail`, `page 0x80001000`). */
  path: string;
  /** Rendered value on the reference side. */
  reference: string;
  /** Rendered value on the replayed side. */
  replay: string;
  /** The property is in the live record but not in the section's description. */
  notInDescription?: boolean;
}

function isTyped(v: unknown): v is ArrayLike<number | bigint> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** Append the differences between `a` (reference) and `b` (replay) under `path`. */
export function diffValues(
  device: string,
  path: string,
  a: unknown,
  b: unknown,
  out: StateDifference[],
  limit = 64,
): void {
  if (out.length >= limit || Object.is(a, b)) return;
  if (isTyped(a) && isTyped(b)) {
    if (a.length !== b.length || a.constructor !== b.constructor) {
      return push(out, device, path, `${a.length} elements`, `${b.length} elements`);
    }
    if (a instanceof Uint8Array && b instanceof Uint8Array) {
      if (Buffer.compare(a, b) === 0) return;
    }
    for (let i = 0; i < a.length && out.length < limit; i++) {
      if (a[i] !== b[i]) push(out, device, `${path}[${i}]`, a[i], b[i]);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) push(out, device, `${path}.length`, a.length, b.length);
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n && out.length < limit; i++) {
      const x = a[i], y = b[i];
      if (x !== y) diffValues(device, `${path}[${i}]`, x, y, out, limit);
    }
    return;
  }
  if (a instanceof Map && b instanceof Map) {
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      diffValues(device, `${path}{${String(k)}}`, a.get(k), b.get(k), out, limit);
    }
    return;
  }
  if (
    a !== null && b !== null && typeof a === "object" && typeof b === "object" &&
    !isTyped(a) && !isTyped(b) && !Array.isArray(a) && !Array.isArray(b)
  ) {
    const ka = a as Record<string, unknown>;
    const kb = b as Record<string, unknown>;
    for (const k in ka) {
      const x = ka[k], y = kb[k];
      if (x !== y || !(k in kb)) diffValues(device, path ? `${path}.${k}` : k, x, y, out, limit);
    }
    for (const k in kb) {
      if (!(k in ka)) diffValues(device, path ? `${path}.${k}` : k, undefined, kb[k], out, limit);
    }
    return;
  }
  push(out, device, path, a, b);
}

function push(out: StateDifference[], device: string, path: string, a: unknown, b: unknown) {
  out.push({ device, path, reference: formatValue(a), replay: formatValue(b) });
}

const coveredCache = new WeakMap<VmStateDescription, Set<string>>();

/**
 * Record paths a description carries, without indices (`serial.ier`, `env.gpr`, `sq.tail`):
 * every field's property path, nested structures and subsections included.
 */
export function coveredPaths(vmsd: VmStateDescription): Set<string> {
  let set = coveredCache.get(vmsd);
  if (set) return set;
  set = new Set();
  const walk = (d: VmStateDescription, prefix: string, seen: Set<VmStateDescription>) => {
    if (seen.has(d)) return;
    seen.add(d);
    for (const f of d.fields) {
      if (f.flags & VMS.MUST_EXIST && !f.info && !f.vmsd) continue; // validate(): no data
      const key = f.key ?? f.name;
      const path = prefix ? `${prefix}.${key}` : key;
      if (f.flags & (VMS.STRUCT | VMS.VSTRUCT) && f.vmsd) walk(f.vmsd, path, seen);
      else set!.add(path);
    }
    for (const sub of d.subsections ?? []) walk(sub, prefix, seen);
    seen.delete(d);
  };
  walk(vmsd, "", new Set());
  coveredCache.set(vmsd, set);
  return set;
}

/** Whether a raw record path (`serial.ier`, `sq[3].tail`) is carried by the description. */
export function isCovered(covered: Set<string>, path: string): boolean {
  let p = path.replace(/\[\d+\]/g, "").replace(/\{[^}]*\}/g, "");
  for (;;) {
    if (covered.has(p)) return true;
    const dot = p.lastIndexOf(".");
    if (dot < 0) return false;
    p = p.slice(0, dot);
  }
}

/** The canonical bytes of every device section (what a save would write), by label. */
export function canonicalSections(m: Machine): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of m.registry.entries) {
    if (!e.vmsd || !e.state) continue;
    const state = e.state();
    if (e.vmsd.needed && !e.vmsd.needed(state)) continue;
    const w = new StreamWriter();
    saveState(w, e.vmsd, state);
    out.set(sectionLabel(e), w.take());
  }
  return out;
}

/** Differences in record properties that the section's description does not carry. */
export function uncoveredDifferences(ref: Machine, rep: Machine, limit = 64): StateDifference[] {
  const out: StateDifference[] = [];
  for (const e of ref.registry.entries) {
    if (!e.vmsd || !e.state) continue;
    const twin = rep.registry.find(e.idstr, e.instanceId);
    if (!twin?.state) continue;
    const all: StateDifference[] = [];
    diffValues(sectionLabel(e), "", e.state(), twin.state(), all, 1024);
    const covered = coveredPaths(e.vmsd);
    for (const d of all) if (out.length < limit && !isCovered(covered, d.path)) out.push(d);
  }
  return out;
}

/** How two machines compare at one point. */
export interface Comparison {
  /** Nothing differs. */
  equal: boolean;
  /** Sections whose saved bytes differ. */
  sections: string[];
  /** Properties outside the descriptions that differ (named and valued). */
  uncovered: StateDifference[];
  /** Guest physical addresses of differing RAM pages (over the size both have). */
  pages: number[];
  /** RAM size, when it differs. */
  ramSize?: StateDifference;
  /** Exit status, when it differs. */
  exit?: StateDifference;
}

/**
 * Compare by what matters for the future: each section as its description saves it (state the
 * device itself does not send, such as a stale transmit register, is ignored), every record
 * property the description does not carry, the guest's exit status, and RAM.
 */
export function compareMachines(ref: Machine, rep: Machine, limit = 64): Comparison {
  const a = canonicalSections(ref);
  const b = canonicalSections(rep);
  const sections: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k), y = b.get(k);
    if (!x || !y || Buffer.compare(x, y) !== 0) sections.push(k);
  }
  const uncovered = uncoveredDifferences(ref, rep, limit);
  const ram = diffRam(ref, rep, limit);
  const [refSize, repSize] = ram.sizes;
  const ramSize: StateDifference | undefined = refSize === repSize ? undefined : {
    device: "ram",
    path: "size",
    reference: formatBytes(refSize),
    replay: formatBytes(repSize),
  };
  const exitDiffs: StateDifference[] = [];
  diffValues("machine", "exitCode", ref.exitCode, rep.exitCode, exitDiffs);
  return {
    equal: !sections.length && !uncovered.length && !ram.pages.length && !ramSize &&
      !exitDiffs.length,
    sections,
    uncovered,
    pages: ram.pages,
    ...(ramSize ? { ramSize } : {}),
    ...(exitDiffs.length ? { exit: exitDiffs[0] } : {}),
  };
}

/**
 * Name the differing fields of `sections` (labels whose saved bytes differ) with the one machine
 * diff, so replay and the store's `diff` show the same paths and values.
 */
export function sectionDifferences(
  ref: Machine,
  rep: Machine,
  sections: string[],
  limit = 64,
): StateDifference[] {
  if (!sections.length) return [];
  const fields = diffFields(ref, rep, new Set(sections));
  const out: StateDifference[] = [];
  for (const label of sections) {
    const before = out.length;
    for (const f of fields) {
      if (out.length >= limit) break;
      if (f.section === label) {
        out.push({ device: label, path: f.path, reference: f.a, replay: f.b });
      }
    }
    if (out.length === before && out.length < limit) {
      out.push({
        device: label,
        path: "(section)",
        reference: "saved",
        replay: "saved differently",
      });
    }
  }
  return out;
}
