/**
 * The whole-stream differential oracle for QEMU 7.2 riscv32 virt streams: every case goes whole
 * through snapshell's `qemu-virt` machine (emu/virt.ts) as it went through QEMU. Accept/reject
 * disagreements are findings; when both accept, QEMU's loaded state is read back by migrating it
 * out again (run_case.ts `resave`) and loaded into a second `qemu-virt` machine, and the two
 * machines' saved sections are compared: a section whose bytes differ is a state difference.
 * Both sides go through snapshell's own save, so the comparison sees the state, not QEMU's
 * encoding choices.
 * @module
 */
import { qemuVirtOptionsFor, VirtMachine, type VirtOptions } from "../../../emu/virt.ts";
import { SectionType } from "../../../migration/sections/constants.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { Oracle } from "./campaign.ts";
import type { QemuOutcome } from "./outcome.ts";

/**
 * Sections whose saved bytes legitimately differ between the case and QEMU's re-save: the run
 * state (`globalstate`: the case says what the source was doing, QEMU's re-save says `paused`...
 * as the destination now is) and QEMU's host-clock offsets (`timer`, recomputed by QEMU on save).
 */
export const STATE_COMPARE_SKIPS: ReadonlyMap<string, string> = new Map([
  ["globalstate#0", "the run state at the save (the case's source vs QEMU paused after the load)"],
  ["timer#0", "QEMU recomputes its clock offsets when it saves"],
]);

/** `-icount shift=N` in a QEMU command line: N (0 without, or for `shift=auto`). */
export function icountShiftOf(argv: readonly string[]): number {
  const i = argv.indexOf("-icount");
  const m = i >= 0 ? /(?:^|,)shift=(\d+)/.exec(argv[i + 1] ?? "") : null;
  return m ? Number(m[1]) : 0;
}

/** One line for why snapshell refused a stream. */
function why(e: unknown): string {
  const err = e as Error;
  return `${err.name}: ${err.message.split("\n")[0].slice(0, 300)}`;
}

/** A `qemu-virt` machine loaded from `bytes`, or why snapshell refuses them. */
export async function loadWhole(
  bytes: Uint8Array,
  opts: VirtOptions,
): Promise<{ machine: VirtMachine } | { refused: string }> {
  const machine = new VirtMachine(opts);
  try {
    await machine.load(StreamReader.fromBytes(bytes));
    return { machine };
  } catch (e) {
    return { refused: why(e) };
  }
}

/**
 * A machine's saved sections: `idstr#n` (n counts repeats of an idstr, as QEMU's instances) ->
 * the section's bytes, header and footer included (RAM: every chunk's, joined). The save reports
 * each section's span itself, so the stream is not parsed again.
 */
export async function savedSections(m: VirtMachine): Promise<Map<string, Uint8Array>> {
  const w = new StreamWriter();
  const spans: { idstr: string; type: number; start: number; end: number }[] = [];
  await m.save(w, { sendVmdesc: false, onSection: (info) => spans.push(info) });
  const bytes = w.take();
  const parts = new Map<string, Uint8Array[]>();
  const seen = new Map<string, number>();
  for (const sp of spans) {
    // START/FULL open an instance; PART/END continue the latest one of that idstr.
    const opens = sp.type === SectionType.START || sp.type === SectionType.FULL;
    const n = (seen.get(sp.idstr) ?? 0) + (opens ? 1 : 0);
    seen.set(sp.idstr, n);
    const key = `${sp.idstr}#${Math.max(0, n - 1)}`;
    parts.set(key, [...(parts.get(key) ?? []), bytes.subarray(sp.start, sp.end)]);
  }
  const out = new Map<string, Uint8Array>();
  for (const [key, list] of parts) {
    const all = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of list) {
      all.set(b, at);
      at += b.length;
    }
    out.set(key, all);
  }
  return out;
}

/** Byte offsets in each saved section where the unmodified stream's two states already differ. */
export type BaseDifferences = Map<string, Set<number>>;

/** Every differing payload byte of every section of two saved states. */
function differingBytes(x: Map<string, Uint8Array>, y: Map<string, Uint8Array>): BaseDifferences {
  const out: BaseDifferences = new Map();
  for (const key of new Set([...x.keys(), ...y.keys()])) {
    const p = x.get(key) ?? new Uint8Array();
    const q = y.get(key) ?? new Uint8Array();
    const at = new Set<number>();
    for (let i = 0; i < Math.max(p.length, q.length); i++) if (p[i] !== q[i]) at.add(i);
    if (at.size) out.set(key, at);
  }
  return out;
}

/**
 * The first section (skipping {@link STATE_COMPARE_SKIPS}) whose saved bytes differ between two
 * machines, with the first differing payload offset; undefined when equal. Offsets where the
 * unmodified stream already differs (`known`, same section length) are not differences of a case.
 */
export async function stateDifference(
  a: VirtMachine,
  b: VirtMachine,
  known: BaseDifferences = new Map(),
): Promise<string | undefined> {
  const [x, y] = await Promise.all([savedSections(a), savedSections(b)]);
  for (const key of new Set([...x.keys(), ...y.keys()])) {
    if (STATE_COMPARE_SKIPS.has(key)) continue;
    const p = x.get(key);
    const q = y.get(key);
    if (!p || !q) return `${key} only in ${p ? "snapshell's" : "QEMU's"} state`;
    const mask = known.get(key);
    const n = Math.min(p.length, q.length);
    let i = 0;
    while (i < n && (p[i] === q[i] || mask?.has(i))) i++;
    if (i < n || p.length !== q.length) {
      return `${key} differs at byte ${i} (snapshell ${p.length} bytes, QEMU ${q.length})`;
    }
  }
  return undefined;
}

/** The differences of the unmodified stream: `base` in snapshell vs QEMU's re-save of it. */
export async function baseDifferences(
  base: Uint8Array,
  resaved: Uint8Array,
  opts: VirtOptions,
): Promise<BaseDifferences> {
  const a = await loadWhole(base, opts);
  const b = await loadWhole(resaved, opts);
  if (!("machine" in a) || !("machine" in b)) {
    throw new Error(
      `the unmodified stream does not load whole in snapshell: ${
        "refused" in a ? a.refused : "refused" in b ? `(QEMU's re-save) ${b.refused}` : ""
      }`,
    );
  }
  const d = differingBytes(await savedSections(a.machine), await savedSections(b.machine));
  for (const key of STATE_COMPARE_SKIPS.keys()) d.delete(key);
  return d;
}

/**
 * The whole-stream oracle for campaigns over `base` (a QEMU riscv32 virt stream loaded with
 * `argv`); undefined when `base` is not one (the per-section oracle is the fallback).
 */
export async function wholeStreamOracle(
  base: Uint8Array,
  argv: readonly string[],
): Promise<Oracle | undefined> {
  const found = await qemuVirtOptionsFor(base);
  if (!found) return undefined;
  const opts: VirtOptions = { ...found, icountShift: icountShiftOf(argv) };
  let known: BaseDifferences = new Map();
  const oracle: Oracle = async (bytes, qemu) => {
    if (qemu.class !== "rejected" && qemu.class !== "accepted" && qemu.class !== "stopped") {
      return undefined; // a crash or a hang is a finding already
    }
    const disagree = (phase: string, detail: string, ours: string): QemuOutcome => ({
      class: "disagree",
      phase,
      detail,
      ours,
    });
    const ours = await loadWhole(bytes, opts);
    if (qemu.class === "rejected") {
      return "machine" in ours
        ? disagree("qemu-rejects", qemu.detail ?? "QEMU refuses it", "snapshell loads it")
        : undefined;
    }
    if (qemu.phase === "load" && qemu.class === "stopped") return undefined; // not a load verdict
    if ("refused" in ours) return disagree("qemu-loads", "QEMU loads it", ours.refused);
    if (!qemu.resaved) return undefined; // QEMU could not save what it loaded: nothing to compare
    const theirs = await loadWhole(qemu.resaved, opts);
    if ("refused" in theirs) {
      return disagree("qemu-resave", "QEMU's own re-save of the loaded state", theirs.refused);
    }
    const diff = await stateDifference(ours.machine, theirs.machine, known);
    return diff ? disagree("state", "both load it; the loaded state differs", diff) : undefined;
  };
  oracle.resave = true;
  oracle.calibrate = async (baseOutcome) => {
    if (!baseOutcome.resaved) return;
    known = await baseDifferences(base, baseOutcome.resaved, opts);
    oracle.baseDifferences = [...known].map(([k, at]) => `${k}: ${at.size} bytes`);
  };
  return oracle;
}
