/**
 * Running one mutated stream and classifying what happened. The stream is loaded into a fresh
 * machine; a typed rejection must leave that machine exactly fresh; an accepted load is compared
 * with the original snapshot's load (equal or different), every section that differs is saved
 * and loaded again through its description (a state its own checks reject is a bug), and the
 * machine runs a little (an exception or a blown time budget is a bug).
 *
 * Two modes share this logic: the fast one reuses one machine and resets only what a case
 * touched (thousands of cases per second), the exact one builds a new machine for every case
 * (used to confirm and shrink bugs, so a report never rests on the reuse shortcuts).
 * @module
 */
import { Buffer } from "node:buffer";
import type { VirtMachine } from "../../emu/virt.ts";
import { PAGE_SIZE, RAM_MAX_SIZE } from "../../emu/ram.ts";
import { lightweightErrors, MigrationError } from "../../migration/errors.ts";
import { probeRamLayout } from "../../migration/ram/probe.ts";
import type { SectionEntry } from "../../migration/sections/registry.ts";
import { type ByteSource, StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import type { StateRecord } from "../../migration/vmstate/description.ts";
import { loadState } from "../../migration/vmstate/load.ts";
import { saveState } from "../../migration/vmstate/save.ts";
import { type MachineFactory, plainMachine } from "../replay/fork.ts";
import { diffValues, type StateDifference } from "../replay/state_diff.ts";
import { sectionLabel } from "../../migration/sections/label.ts";
import type { CaseOutcome } from "./classes.ts";
import { ReusableMachine } from "./fresh.ts";
import { sameValue } from "./same.ts";
import { imageIndex, imageWord, installImage, type RamPreload } from "./preload.ts";
import { type FuzzVia, ViaTransport } from "./via.ts";

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** RAM as {@link pagesDiffer} reads it: bytes plus the per-page bit words. */
type PagedRam = VirtMachine["ram"];

/**
 * Whether two RAMs differ on any page named by `wordBits(w)` (bit i of word w = page 32w+i):
 * the fuzzer compares only the pages a case can have changed.
 */
function pagesDiffer(a: PagedRam, b: PagedRam, wordBits: (w: number) => number): boolean {
  const ua = Buffer.from(a.u8.buffer, a.u8.byteOffset, a.size);
  const ub = Buffer.from(b.u8.buffer, b.u8.byteOffset, b.size);
  for (let w = 0; w < a.written.length; w++) {
    let bits = wordBits(w);
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const off = ((w << 5) + 31 - Math.clz32(low)) * PAGE_SIZE;
      if (Buffer.compare(ua.subarray(off, off + PAGE_SIZE), ub.subarray(off, off + PAGE_SIZE))) {
        return true;
      }
    }
  }
  return false;
}

/** Knobs of a fuzz target. */
export interface TargetOptions {
  /** Instructions each accepted case runs (default 10,000). */
  runInsns?: number;
  /** A run slower than this is a hang (default 2,000 ms). */
  runBudgetMs?: number;
  /** Builds the machines (default: a plain virt machine). */
  makeMachine?: MachineFactory;
  /** Build a new machine for every case instead of resetting one (slow, exact). */
  exact?: boolean;
  /** How each case reaches the loader: from memory (default), a TCP socket or a pipe. */
  via?: FuzzVia;
}

function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split("\n")[0].slice(0, 400);
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

/** Loads mutated versions of one snapshot and classifies them. */
export class FuzzTarget {
  private readonly make: MachineFactory;
  private readonly runInsns: number;
  private readonly runBudgetMs: number;
  private readonly exact: boolean;
  private readonly ramSize: number;
  private reusable?: ReusableMachine;
  /** The reused machine of pre-loaded cases. */
  private withImage?: ReusableMachine;
  private rejections = 0;
  /** The original snapshot loaded into a fresh machine: what "equal" means. */
  private reference!: VirtMachine;
  private refRecords!: { entry: SectionEntry; record: StateRecord }[];
  /** Scratch arrays reused as load targets when re-checking a section. */
  private readonly scratch = new WeakMap<ArrayBufferView, ArrayBufferView>();
  private readonly sink: { chunk: Uint8Array<ArrayBufferLike> };
  private readonly writer: StreamWriter;
  /** Per RAM image: pages where the original snapshot's RAM differs from it. */
  private readonly extras = new WeakMap<RamPreload, Uint32Array>();
  /** The socket or pipe cases go through, when not from memory. */
  private transport?: ViaTransport;

  private constructor(base: Uint8Array, ramSize: number, opts: TargetOptions) {
    void base;
    this.make = opts.makeMachine ?? plainMachine;
    this.runInsns = opts.runInsns ?? 10_000;
    this.runBudgetMs = opts.runBudgetMs ?? 2_000;
    this.exact = opts.exact ?? false;
    this.ramSize = ramSize;
    const sink: { chunk: Uint8Array<ArrayBufferLike> } = { chunk: new Uint8Array(0) };
    this.sink = sink;
    this.writer = new StreamWriter(
      { write: (c) => (sink.chunk = c, Promise.resolve()) },
      1 << 20,
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** A target for mutations of `base` (which must itself load). */
  static async create(base: Uint8Array, opts: TargetOptions = {}): Promise<FuzzTarget> {
    const layout = await probeRamLayout(StreamReader.fromBytes(base), RAM_MAX_SIZE);
    const t = new FuzzTarget(base, layout?.total ?? 128 << 20, opts);
    t.reference = t.make({ ramSize: t.ramSize });
    await t.reference.load(StreamReader.fromBytes(base));
    t.refRecords = t.reference.registry.entries.filter((e) => e.state)
      .map((entry) => ({ entry, record: structuredClone(entry.state!()) }));
    if (!t.exact) {
      t.reusable = new ReusableMachine(t.make, { ramSize: t.ramSize });
      // Built now, not in a worker's first pre-loaded case (which the watchdog times).
      t.withImage = new ReusableMachine(t.make, { ramSize: t.ramSize });
    }
    if (opts.via && opts.via !== "memory") t.transport = await ViaTransport.open(opts.via);
    return t;
  }

  /**
   * The reused machine that holds `image` between cases (a second machine, so that cases of
   * both kinds can alternate without writing and wiping the image each time).
   */
  private imageMachine(image: RamPreload): ReusableMachine | undefined {
    if (this.exact) return undefined;
    this.withImage!.useImage(image);
    return this.withImage;
  }

  /** Release the transport (listener or FIFO), if any. */
  async close(): Promise<void> {
    await this.transport?.close();
  }

  /** Load a case into `m`, from memory or through the transport (a stream of unknown length). */
  private async loadCase(m: VirtMachine, input: Uint8Array | ByteSource): Promise<void> {
    if (!this.transport) {
      await m.load(
        input instanceof Uint8Array
          ? StreamReader.fromBytes(input)
          : StreamReader.fromSource(input, 16 * 1024),
      );
      return;
    }
    const via = await this.transport.send(input);
    try {
      await m.load(StreamReader.fromSource(via.source, 16 * 1024));
    } finally {
      await via.close();
    }
  }

  /**
   * Load a stream (bytes, or a source read as needed) into a fresh machine and classify. A
   * pre-loaded case (preload.ts) names the RAM image the fresh machine holds before the load.
   */
  async run(input: Uint8Array | ByteSource, image?: RamPreload): Promise<CaseOutcome> {
    // Rejections are most cases: typed errors without a native Error underneath in the fast
    // pass (a bug is confirmed in exact mode, where errors are ordinary).
    const light = lightweightErrors(!this.exact);
    try {
      return await this.runCase(input, image);
    } finally {
      lightweightErrors(light);
    }
  }

  private async runCase(input: Uint8Array | ByteSource, image?: RamPreload): Promise<CaseOutcome> {
    const reusable = image ? this.imageMachine(image) : this.reusable;
    const m = reusable ? reusable.machine : this.make({ ramSize: this.ramSize });
    if (!reusable && image) installImage(image, m.ram);
    let loaded = false;
    try {
      try {
        await this.loadCase(m, input);
        loaded = true;
      } catch (e) {
        if (!(e instanceof MigrationError)) {
          return { class: "exception", phase: "load", error: errorName(e), detail: oneLine(e) };
        }
        const changed = this.changedSinceReset(m, reusable, image);
        if (changed) {
          return {
            class: "invalid",
            phase: "rollback",
            error: e.name,
            detail: `rejected (${oneLine(e)}) but changed ${changed}`,
          };
        }
        // Most cases end here and only bugs print their detail: it is made when read.
        return {
          class: "rejected",
          error: e.name,
          get detail() {
            return oneLine(e);
          },
        };
      }
      const differing = this.differingSections(m);
      const ramDiffers = image && reusable
        ? this.imageRamDiffers(reusable, image)
        : this.ramDiffers(m);
      for (const entry of differing) {
        const why = await this.recheck(entry);
        if (why) {
          return { class: "invalid", phase: "check", detail: `${sectionLabel(entry)}: ${why}` };
        }
      }
      const t0 = performance.now();
      try {
        m.run(this.runInsns);
      } catch (e) {
        return { class: "exception", phase: "run", error: errorName(e), detail: oneLine(e) };
      }
      const ms = performance.now() - t0;
      if (ms > this.runBudgetMs) {
        return {
          class: "hang",
          phase: "run",
          detail: `${this.runInsns} instructions took ${Math.round(ms)} ms`,
        };
      }
      return differing.length || ramDiffers ? { class: "different" } : { class: "equal" };
    } finally {
      if (reusable) {
        reusable.restoreRam();
        if (loaded) reusable.restoreDevices();
      }
    }
  }

  /**
   * What a rejected load changed in a machine that was fresh, or undefined. RAM is checked
   * every time (pages a pre-loaded case's machine held as its image: every 64th); section
   * records and the hart on every 8th rejection in fast mode (a load only changes them by
   * committing, which a rejected load never reaches); everything always in exact mode.
   */
  private changedSinceReset(
    m: VirtMachine,
    reusable?: ReusableMachine,
    image?: RamPreload,
  ): string | undefined {
    const ram = m.ram;
    const u8 = Buffer.from(ram.u8.buffer, ram.u8.byteOffset, ram.size);
    for (let w = 0; w < ram.written.length; w++) {
      let bits = reusable && image
        ? reusable.changedWord(w, m.loadedPages)
        : (ram.written[w] & ~(image ? imageWord(image, w) : 0)) | ram.dirty[w];
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const p = (w << 5) + 31 - Math.clz32(low);
        if (!this.pageAsBefore(u8, p, image)) {
          return `RAM page 0x${(ram.base + p * PAGE_SIZE).toString(16)}`;
        }
      }
    }
    const nth = this.rejections++;
    if (reusable && nth % 8 !== 0) return undefined;
    // The image's pages carry no mark of their own: compare them all now and then (a rejected
    // load's journal put them back; megabytes of them, so on every 64th rejection).
    const wholeImage = image && (!reusable || nth % 64 === 0);
    for (let i = 0; wholeImage && i < image.pages.length; i++) {
      if (!this.pageAsBefore(u8, image.pages[i], image)) {
        return `RAM page 0x${(ram.base + image.pages[i] * PAGE_SIZE).toString(16)}`;
      }
    }
    const records = reusable?.resetRecords() ?? this.freshRecords(m);
    for (const { entry, record } of records) {
      const live = entry.state!();
      if (sameValue(record, live)) continue;
      const d: StateDifference[] = [];
      diffValues(sectionLabel(entry), "", record, live, d, 1);
      if (d.length) return `${d[0].device} ${d[0].path} (${d[0].reference} -> ${d[0].replay})`;
    }
    const cpu: StateDifference[] = [];
    const resetCpu = reusable?.resetCpu ?? this.make({ ramSize: PAGE_SIZE }).cpu.state;
    if (sameValue(resetCpu, m.cpu.state)) return undefined;
    diffValues("hart", "", resetCpu, m.cpu.state, cpu, 1);
    return cpu.length ? `hart ${cpu[0].path}` : undefined;
  }

  /** Whether RAM page `p` holds what it held before the case: the image's bytes, or zeros. */
  private pageAsBefore(u8: Buffer, p: number, image?: RamPreload): boolean {
    const off = p * PAGE_SIZE;
    const page = u8.subarray(off, off + PAGE_SIZE);
    const i = image ? imageIndex(image, p) : -1;
    if (i < 0) return Buffer.compare(page, ZERO_PAGE) === 0;
    const src = image!.sources[i];
    if (src >= 0) return Buffer.compare(page, image!.base.subarray(src, src + PAGE_SIZE)) === 0;
    return page.every((b) => b === -1 - src);
  }

  /**
   * Whether RAM differs from the original snapshot's when the machine held `image` before the
   * load: only pages the case changed (and those where the original differs from the image) can.
   */
  private imageRamDiffers(reusable: ReusableMachine, image: RamPreload): boolean {
    const a = reusable.machine.ram, b = this.reference.ram;
    const extra = this.referenceExtra(image);
    const loaded = reusable.machine.loadedPages;
    return pagesDiffer(a, b, (w) => reusable.changedWord(w, loaded) | extra[w] | b.dirty[w]);
  }

  /** Pages where the original snapshot's RAM is not the image (none for streams made by save). */
  private referenceExtra(image: RamPreload): Uint32Array {
    let extra = this.extras.get(image);
    if (extra) return extra;
    const ram = this.reference.ram;
    const u8 = Buffer.from(ram.u8.buffer, ram.u8.byteOffset, ram.size);
    extra = new Uint32Array(ram.written.length);
    for (let w = 0; w < extra.length; w++) {
      let bits = ram.written[w] | ram.dirty[w] | imageWord(image, w);
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const p = (w << 5) + 31 - Math.clz32(low);
        if (!this.pageAsBefore(u8, p, image)) extra[w] |= low;
      }
    }
    this.extras.set(image, extra);
    return extra;
  }

  private freshRecords(m: VirtMachine): { entry: SectionEntry; record: StateRecord }[] {
    const fresh = this.make({ ramSize: m.ram.size });
    return m.registry.entries.filter((e) => e.state).map((entry) => ({
      entry,
      record: fresh.registry.find(entry.idstr, entry.instanceId)!.state!(),
    }));
  }

  /** Sections whose live record differs from the original snapshot's. */
  private differingSections(m: VirtMachine): SectionEntry[] {
    const out: SectionEntry[] = [];
    for (const { entry, record } of this.refRecords) {
      const mine = m.registry.find(entry.idstr, entry.instanceId);
      if (!mine?.state) continue;
      const live = mine.state();
      if (sameValue(record, live)) continue;
      const d: StateDifference[] = [];
      diffValues("", "", record, live, d, 1);
      if (d.length) out.push(mine);
    }
    return out;
  }

  /** Whether RAM differs from the original snapshot's (only pages either load filled). */
  private ramDiffers(m: VirtMachine): boolean {
    const a = m.ram, b = this.reference.ram;
    return pagesDiffer(a, b, (w) => a.written[w] | b.written[w] | a.dirty[w] | b.dirty[w]);
  }

  /**
   * Save a section and load it back through its description: undefined when the state passes
   * its own checks, else why not. A loaded state that cannot survive this is a loader bug.
   */
  private async recheck(entry: SectionEntry): Promise<string | undefined> {
    const vmsd = entry.vmsd!;
    const state = entry.state!();
    if (vmsd.needed && !vmsd.needed(state)) return undefined;
    let bytes: Uint8Array;
    try {
      saveState(this.writer, vmsd, state);
      await this.writer.flush();
      bytes = this.sink.chunk;
    } catch (e) {
      return `saving it again fails: ${oneLine(e)}`;
    }
    try {
      const staged = this.stage(state);
      const r = StreamReader.fromBytes(bytes);
      loadState(r, vmsd, staged, vmsd.versionId);
      if (!r.atEnd) return `loading it again leaves ${r.remaining} bytes`;
    } catch (e) {
      if (e instanceof MigrationError) return `its own checks reject it: ${oneLine(e)}`;
      return `loading it again throws ${errorName(e)}: ${oneLine(e)}`;
    }
    return undefined;
  }

  /** A copy of `rec` to load into; large typed arrays become reused scratch arrays. */
  private stage(rec: unknown, depth = 0): StateRecord {
    const copy = (v: unknown): unknown => {
      if (v === null || typeof v !== "object" || depth > 8) return v;
      if (ArrayBuffer.isView(v)) {
        if (v.byteLength < 65536 || this.exact) return structuredClone(v);
        let s = this.scratch.get(v);
        if (!s) {
          s = new (v.constructor as new (n: number) => ArrayBufferView)(
            (v as unknown as ArrayLike<unknown>).length,
          );
          this.scratch.set(v, s);
        }
        return s;
      }
      if (v instanceof Map || v instanceof Set) return structuredClone(v);
      if (Array.isArray(v)) return v.map(copy);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = copy(x);
      return out;
    };
    return copy(rec) as StateRecord;
  }
}
