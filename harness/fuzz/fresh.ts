/**
 * One machine that is made fresh again after every fuzz case, at the cost of what the case
 * touched instead of a new machine (16 MiB of RAM, a 1 MiB disk and a 4 MiB decode cache):
 * RAM pages the load filled or the guest wrote are zeroed (RAM's `written` and `dirty` bitmaps
 * say which; a page in neither is still zero), every section gets its reset record back through
 * its own `commit`, and the hart its reset state. Large buffers of the reset records are shared
 * instead of copied when the section's commit copies them rather than keeping them (checked on
 * first use, falling back to a full copy otherwise).
 *
 * With a pre-load plan (preload.ts) the machine can instead hold the base's RAM image between
 * cases (`useImage`): then only pages a case changed are put back (from the image, or zeroed),
 * and the image itself is written or wiped only when the kind of case changes.
 * @module
 */
import type { VirtMachine, VirtOptions } from "../../emu/virt.ts";
import type { CpuState } from "../../emu/cpu/state.ts";
import { PAGE_SIZE } from "../../emu/ram.ts";
import type { SectionCommit, SectionEntry } from "../../migration/sections/registry.ts";
import type { StateRecord } from "../../migration/vmstate/description.ts";
import { copyCpuState, type MachineFactory } from "../replay/fork.ts";
import { imageIndex, imageWord, putImagePage, type RamPreload } from "./preload.ts";

/** Typed arrays at least this big are shared with the reset template when safe. */
const SHARE_BYTES = 64 * 1024;

interface Template {
  entry: SectionEntry;
  record: StateRecord;
  /** Large arrays of `record` (shared only while `shareable`). */
  big: ArrayBufferView[];
  /** Undefined until the first restore shows whether commit keeps the arrays it is given. */
  shareable?: boolean;
}

function bigArrays(v: unknown, out: ArrayBufferView[], depth = 0): void {
  if (depth > 8 || v === null || typeof v !== "object") return;
  if (ArrayBuffer.isView(v)) {
    if (v.byteLength >= SHARE_BYTES) out.push(v);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) bigArrays(x, out, depth + 1);
}

/** Deep copy of a plain record, keeping `keep` arrays by reference. */
function cloneKeeping(v: unknown, keep: ReadonlySet<unknown>): unknown {
  if (v === null || typeof v !== "object") return v;
  if (keep.has(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return (v as Uint8Array).slice();
  if (v instanceof DataView || v instanceof Map || v instanceof Set) return structuredClone(v);
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      a[i] = x !== null && typeof x === "object" ? cloneKeeping(x, keep) : x;
    }
    return a;
  }
  const out: Record<string, unknown> = {};
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    out[k] = x !== null && typeof x === "object" ? cloneKeeping(x, keep) : x;
  }
  return out;
}

function references(v: unknown, targets: ReadonlySet<unknown>, depth = 0): boolean {
  if (v === null || typeof v !== "object" || depth > 8) return false;
  if (targets.has(v)) return true;
  if (ArrayBuffer.isView(v)) return false;
  return (Array.isArray(v) ? v : Object.values(v)).some((x) => references(x, targets, depth + 1));
}

/** A machine plus what it takes to make it fresh again. */
export class ReusableMachine {
  /** The machine; fresh between cases. */
  readonly machine: VirtMachine;
  private readonly templates: Template[] = [];
  private readonly cpuReset: CpuState;
  /** The RAM image the machine holds between cases, if any (see {@link useImage}). */
  private image: RamPreload | undefined;

  constructor(make: MachineFactory, opts: VirtOptions) {
    this.machine = make(opts);
    for (const entry of this.machine.registry.entries) {
      if (!entry.state || !entry.commit) continue;
      const record = structuredClone(entry.state());
      const big: ArrayBufferView[] = [];
      bigArrays(record, big);
      this.templates.push({ entry, record, big });
    }
    this.cpuReset = structuredClone(this.machine.cpu.state);
  }

  /** Reset every section record and the hart (after a load was committed or the guest ran). */
  restoreDevices(): void {
    this.machine.registry.commit(this.resetCommits());
    copyCpuState(this.cpuReset, this.machine.cpu.state);
    this.machine.consoleText = "";
    this.machine.exitCode = undefined;
  }

  /** The reset record of every section, for the registry to commit (as a load does). */
  private *resetCommits(): Generator<SectionCommit> {
    for (const t of this.templates) {
      const keep = new Set<unknown>(t.shareable === false ? [] : t.big);
      yield { entry: t.entry, staged: cloneKeeping(t.record, keep) as StateRecord };
      if (t.shareable === undefined && keep.size) {
        t.shareable = !references(t.entry.state!(), keep);
        if (!t.shareable) yield { entry: t.entry, staged: structuredClone(t.record) };
      }
    }
  }

  /** The image RAM holds between cases (undefined: all zero, as in a new machine). */
  get heldImage(): RamPreload | undefined {
    return this.image;
  }

  /**
   * Make RAM hold `plan`'s image between cases (pre-loaded cases), or nothing (undefined). Call
   * between cases only: RAM must be reset. Costs the image's pages when the choice changes.
   */
  useImage(plan: RamPreload | undefined): void {
    if (plan === this.image) return;
    const ram = this.machine.ram;
    const perPage = PAGE_SIZE >>> 2;
    if (this.image) {
      const old = this.image;
      for (let i = 0; i < old.pages.length; i++) {
        const p = old.pages[i];
        ram.u8.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        ram.decoded.fill(0, p * perPage, (p + 1) * perPage);
      }
      for (let w = 0; w < old.bitmap.length; w++) ram.written[w] &= ~old.bitmap[w];
    }
    this.image = plan;
    if (plan) {
      if (plan.pageSize !== PAGE_SIZE || plan.bitmap.length > ram.written.length) {
        throw new RangeError("RAM image does not fit this machine");
      }
      for (let i = 0; i < plan.pages.length; i++) {
        putImagePage(plan, ram.u8, i);
        const p = plan.pages[i];
        ram.decoded.fill(0, p * perPage, (p + 1) * perPage);
      }
      for (let w = 0; w < plan.bitmap.length; w++) ram.written[w] |= plan.bitmap[w];
    }
  }

  /**
   * Pages that may differ from what RAM holds between cases, as bit word `w`: the ones the guest
   * dirtied, the last accepted load changed, or a load filled outside the image.
   */
  changedWord(w: number, loaded: Uint32Array | undefined): number {
    const ram = this.machine.ram;
    const img = this.image ? imageWord(this.image, w) : 0;
    return ((ram.written[w] & ~img) | ram.dirty[w] |
      (loaded && w < loaded.length ? loaded[w] : 0)) >>>
      0;
  }

  /**
   * Put every RAM page a case may have changed back to what it holds between cases (zero, or the
   * image's bytes) and forget the marks; returns the number of pages put back.
   */
  restoreRam(): number {
    if (this.image) return this.restoreImage(this.image);
    this.machine.loadedPages = undefined;
    const ram = this.machine.ram;
    const { written, dirty, decoded, u8 } = ram;
    const perPage = PAGE_SIZE >>> 2;
    let pages = 0;
    for (let w = 0; w < written.length; w++) {
      let bits = written[w] | dirty[w];
      if (bits === 0) continue;
      written[w] = 0;
      dirty[w] = 0;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const p = (w << 5) + 31 - Math.clz32(low);
        u8.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        decoded.fill(0, p * perPage, (p + 1) * perPage);
        pages++;
      }
    }
    return pages;
  }

  private restoreImage(plan: RamPreload): number {
    const ram = this.machine.ram;
    const { written, dirty, decoded, u8 } = ram;
    const loaded = this.machine.loadedPages;
    this.machine.loadedPages = undefined;
    const perPage = PAGE_SIZE >>> 2;
    let pages = 0;
    for (let w = 0; w < written.length; w++) {
      let bits = this.changedWord(w, loaded);
      if (bits === 0) continue;
      written[w] = imageWord(plan, w);
      dirty[w] = 0;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const p = (w << 5) + 31 - Math.clz32(low);
        const i = imageIndex(plan, p);
        if (i < 0) u8.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        else putImagePage(plan, u8, i);
        decoded.fill(0, p * perPage, (p + 1) * perPage);
        pages++;
      }
    }
    return pages;
  }

  /** Everything: RAM, sections, hart. */
  restore(): void {
    this.restoreRam();
    this.restoreDevices();
  }

  /** The reset records, in registry order (for checks that a rejected load changed nothing). */
  resetRecords(): { entry: SectionEntry; record: StateRecord }[] {
    return this.templates.map((t) => ({ entry: t.entry, record: t.record }));
  }

  /** The hart's reset state. */
  get resetCpu(): CpuState {
    return this.cpuReset;
  }
}
