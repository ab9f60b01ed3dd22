/**
 * Seeded random corruption: a small deterministic PRNG and weighted strategies that pick
 * byte-, structure- and meaning-level operations aimed at the stream's actual parts (a section
 * header, a footer, a field with a boundary value), so a handful of operations exercise the
 * loader's checks rather than mostly landing in RAM pages. The same seed always gives the same
 * operations; recipes store the operations themselves, so they stay exact even if the
 * strategies change.
 * @module
 */
import type { LayoutField, StreamLayout } from "../inspect/layout.ts";
import { type ApplyContext, applyOp } from "./apply.ts";
import { CorruptOpError } from "./errors.ts";
import type { CorruptOp } from "./ops.ts";
import { PieceTable } from "./pieces.ts";
import { xbzrleRecords } from "./ram_fields.ts";
import { commandRecords } from "./command_fields.ts";
import type { CommandRecord } from "../inspect/model.ts";
import { MigCommand } from "../sections/constants.ts";
import type { RamRecord } from "../inspect/ram_records.ts";

/** A deterministic 32-bit PRNG (splitmix32); identical sequences on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Next uint32. */
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform integer in `[0, n)`. */
  int(n: number): number {
    return n <= 1
      ? 0
      : n <= 0x1_0000_0000
      ? Math.floor((this.next() / 0x1_0000_0000) * n)
      : Math.floor(((this.next() * 0x1_0000_0000 + this.next()) / 2 ** 64) * n);
  }
  /** One element of a non-empty array. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

/** Strategy names and their default weights. */
export const STRATEGY_WEIGHTS: Readonly<Record<CorruptOp["op"], number>> = {
  "flip": 14,
  "set-byte": 8,
  "insert": 3,
  "delete": 3,
  "truncate": 3,
  "splice": 2,
  "drop-section": 3,
  "duplicate-section": 2,
  "move-section": 2,
  "drop-subsection": 2,
  "rename-subsection": 2,
  "set-version": 3,
  "set-subsection-version": 1,
  "set-instance": 2,
  "break-footer": 3,
  "damage-vmdesc": 2,
  "set-field": 25,
  "set-xbzrle": 6,
  "set-command": 4,
};

/** A byte range worth aiming at, and how it is weighted. */
interface Region {
  start: number;
  end: number;
}

/** Precomputed targets of one layout, reused for every random recipe over it. */
export class Targets {
  readonly regions: Region[] = [];
  readonly sections: string[];
  readonly headerSections: string[];
  readonly footerSections: string[];
  readonly chunkSelectors: string[];
  /** Leaf fields whose values can be rewritten as numbers, grouped by section. */
  readonly fieldsBySection: LayoutField[][];
  readonly subsections: string[];
  /** XBZRLE records (only streams of the xbzrle capability have them). */
  readonly xbzrle: RamRecord[];
  /** Commands (postcopy streams, SWITCHOVER_START...). */
  readonly commands: CommandRecord[];
  private readonly strategies: [CorruptOp["op"], number][];
  private readonly totalWeight: number;

  constructor(readonly layout: StreamLayout, weights = STRATEGY_WEIGHTS) {
    const add = (start: number, end: number) => {
      if (end > start) this.regions.push({ start, end });
    };
    add(0, 8);
    if (layout.configuration) {
      add(layout.configuration.offset, layout.configuration.offset + layout.configuration.size);
    }
    for (const c of layout.chunks) {
      add(c.offset, c.payloadOffset);
      add(c.payloadOffset, c.payloadOffset + c.payloadSize);
      if (c.footerOffset !== undefined) add(c.footerOffset, c.footerOffset + 5);
    }
    if (layout.eofOffset !== undefined) add(layout.eofOffset, layout.eofOffset + 1);
    if (layout.vmdesc) add(layout.vmdesc.offset, layout.vmdesc.jsonOffset + layout.vmdesc.length);
    this.sections = [...new Set(layout.chunks.map((c) => c.section))];
    this.chunkSelectors = layout.chunks.map((c) => c.selector);
    this.headerSections = layout.chunks.filter((c) => c.versionOffset !== undefined)
      .map((c) => c.selector);
    this.footerSections = layout.chunks.filter((c) => c.footerOffset !== undefined)
      .map((c) => c.selector);
    const by = new Map<string, LayoutField[]>();
    for (const f of layout.fields) {
      if (f.value.kind === "bytes" && f.size > 8) continue;
      const list = by.get(f.section); // push, not copy: a section can have 100,000 fields
      if (list) list.push(f);
      else by.set(f.section, [f]);
    }
    this.fieldsBySection = [...by.values()];
    this.subsections = layout.subsections.map((s) => s.path);
    this.xbzrle = xbzrleRecords(layout);
    this.commands = commandRecords(layout);
    this.strategies = (Object.entries(weights) as [CorruptOp["op"], number][])
      .filter(([op, w]) => w > 0 && this.possible(op));
    this.totalWeight = this.strategies.reduce((s, [, w]) => s + w, 0);
  }

  private possible(op: CorruptOp["op"]): boolean {
    switch (op) {
      case "drop-section":
      case "duplicate-section":
        return this.chunkSelectors.length > 0;
      case "move-section":
        return this.chunkSelectors.length > 1;
      case "set-version":
      case "set-instance":
        return this.headerSections.length > 0;
      case "break-footer":
        return this.footerSections.length > 0;
      case "drop-subsection":
      case "rename-subsection":
      case "set-subsection-version":
        return this.subsections.length > 0;
      case "damage-vmdesc":
        return this.layout.vmdesc !== undefined;
      case "set-field":
        return this.fieldsBySection.length > 0;
      case "set-xbzrle":
        return this.xbzrle.length > 0;
      case "set-command":
        return this.commands.length > 0;
      default:
        return this.layout.size > 0;
    }
  }

  /** A strategy drawn by weight. */
  strategy(rng: Rng): CorruptOp["op"] {
    let x = rng.int(this.totalWeight);
    for (const [op, w] of this.strategies) {
      if (x < w) return op;
      x -= w;
    }
    return this.strategies[0][0];
  }

  /** An offset inside a region drawn uniformly (small regions count as much as big ones). */
  offset(rng: Rng): number {
    const r = rng.pick(this.regions);
    return r.start + rng.int(r.end - r.start);
  }
}

const BYTE_VALUES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x30, 0x31, 0x7e, 0x05];

const SMALL = [7n, 8n, 16n, 32n, 64n, 65n, 255n, 256n, 4096n];

/** An interesting value for an integer field: boundaries, neighbours of the current value. */
export function interestingValue(rng: Rng, f: LayoutField): string {
  const bits = f.size * 8;
  const max = (1n << BigInt(bits)) - 1n;
  const current = f.value.kind === "int"
    ? f.value.unsigned
    : f.value.kind === "bool"
    ? (f.value.value ? 1n : 0n)
    : 0n;
  let v: bigint;
  switch (rng.int(11)) {
    case 0:
      v = 0n;
      break;
    case 1:
      v = 1n;
      break;
    case 2:
      v = max;
      break;
    case 3:
      v = max >> 1n;
      break;
    case 4:
      v = (max >> 1n) + 1n;
      break;
    case 5:
      v = (current + 1n) & max;
      break;
    case 6:
      v = (current - 1n) & max;
      break;
    case 7:
      v = current ^ (1n << BigInt(rng.int(bits)));
      break;
    case 8:
      v = BigInt(rng.next()) & max;
      break;
    case 9:
      v = 2n;
      break;
    default:
      v = rng.pick(SMALL) & max;
  }
  return "0x" + v.toString(16);
}

/** One random operation for `targets` (not yet checked against earlier ones). */
export function randomOp(rng: Rng, t: Targets, op = t.strategy(rng)): CorruptOp {
  const size = t.layout.size;
  switch (op) {
    case "flip":
      return { op, offset: t.offset(rng), bit: rng.int(8) };
    case "set-byte":
      return {
        op,
        offset: t.offset(rng),
        value: rng.chance(0.7) ? rng.pick(BYTE_VALUES) : rng.int(256),
      };
    case "insert": {
      const n = 1 + rng.int(8);
      let hex = "";
      for (let i = 0; i < n; i++) hex += rng.pick(BYTE_VALUES).toString(16).padStart(2, "0");
      return { op, offset: t.offset(rng), hex };
    }
    case "delete": {
      const offset = t.offset(rng);
      return { op, offset, length: Math.min(size - offset, 1 + rng.int(16)) };
    }
    case "truncate":
      return { op, length: t.offset(rng) };
    case "splice": {
      const offset = t.offset(rng);
      const from = t.offset(rng);
      const n = 1 + rng.int(64);
      return {
        op,
        offset,
        length: Math.min(size - offset, 1 + rng.int(64)),
        source: "-",
        sourceOffset: from,
        sourceLength: Math.min(size - from, n),
      };
    }
    case "drop-section":
    case "duplicate-section":
      return { op, section: rng.pick(t.chunkSelectors) };
    case "move-section": {
      const section = rng.pick(t.chunkSelectors);
      const others = [...t.chunkSelectors.filter((s) => s !== section), "eof"];
      return { op, section, before: rng.pick(others) };
    }
    case "drop-subsection":
      return { op, subsection: rng.pick(t.subsections) };
    case "rename-subsection": {
      const subsection = rng.pick(t.subsections);
      const name = t.layout.subsections.find((s) => s.path === subsection)!.name;
      const to = rng.pick([
        name + "x",
        name.slice(0, -1),
        name.replace("/", ""),
        rng.pick(t.layout.subsections).name,
        "bogus/" + name.slice(name.indexOf("/") + 1),
      ]);
      return { op, subsection, to };
    }
    case "set-version":
      return { op, section: rng.pick(t.headerSections), version: pickU32(rng) };
    case "set-subsection-version":
      return { op, subsection: rng.pick(t.subsections), version: pickU32(rng) };
    case "set-instance":
      return { op, section: rng.pick(t.headerSections), instance: pickU32(rng) };
    case "break-footer":
      return {
        op,
        section: rng.pick(t.footerSections),
        how: rng.pick(["drop", "id", "marker"] as const),
      };
    case "damage-vmdesc":
      return { op, how: rng.pick(["drop", "length", "truncate", "json", "marker"] as const) };
    case "set-field": {
      const f = rng.pick(rng.pick(t.fieldsBySection));
      return { op, path: f.path, value: interestingValue(rng, f) };
    }
    case "set-xbzrle":
      return randomXbzrleOp(rng, t);
    case "set-command":
      return randomCommandOp(rng, t);
  }
}

/** A command field with a value aimed at one of the destination's checks. */
function randomCommandOp(rng: Rng, t: Targets): CorruptOp {
  const index = rng.int(t.commands.length);
  const c = t.commands[index];
  const ranges = (c.detail?.fields.ranges as unknown[] | undefined)?.length ?? 0;
  const fields = ["cmd", "length"];
  if (c.length > 0) fields.push(`data[${rng.int(c.length)}]`);
  if (c.cmd === MigCommand.POSTCOPY_ADVISE && c.length === 16) fields.push("pagesize");
  if (c.cmd === MigCommand.PACKAGED && c.length === 4) fields.push("package-length");
  if (ranges > 0) fields.push(`start[${rng.int(ranges)}]`, `size[${rng.int(ranges)}]`);
  const field = rng.pick(fields);
  const value = field === "cmd"
    ? rng.pick([0, 2, 5, 7, 8, 12, 0xffff])
    : field === "length"
    ? rng.pick([0, 1, 3, 4, 16, c.length + 1, 0xffff])
    : field.startsWith("data")
    ? rng.pick([0, 1, 0x80, 0xff])
    : rng.pick([0, 1, 4095, 8192, 0xffffffff, 2 ** 40]);
  return { op: "set-command", index, field, value };
}

/** An XBZRLE field with a value aimed at one of the loader's checks. */
function randomXbzrleOp(rng: Rng, t: Targets): CorruptOp {
  const record = rng.int(t.xbzrle.length);
  const r = t.xbzrle[record];
  const page = t.layout.pageSize;
  const deltaLen = r.offset + r.size - r.deltaAt! - 3;
  switch (rng.int(4)) {
    case 0:
      return {
        op: "set-xbzrle",
        record,
        field: "offset",
        value: page * rng.pick([0, 1, 0x1000, 0xfffff, rng.int(0x100000)]),
      };
    case 1:
      return { op: "set-xbzrle", record, field: "encoding", value: rng.pick([0, 2, 0x41, 0xff]) };
    case 2:
      return {
        op: "set-xbzrle",
        record,
        field: "length",
        value: rng.pick([0, 1, Math.max(0, deltaLen - 1), deltaLen + 1, page, page + 1, 0xffff]),
      };
    default:
      return {
        op: "set-xbzrle",
        record,
        field: `data[${rng.int(Math.max(1, deltaLen))}]`,
        value: rng.pick([0, 0x7f, 0x80, 0xff, rng.int(256)]),
      };
  }
}

function pickU32(rng: Rng): number {
  return rng.pick([0, 1, 2, 3, 4, 5, 6, 255, 256, 0x7fffffff, 0xffffffff, rng.next()]);
}

/**
 * Draw `count` operations that apply cleanly one after another (a drawn operation that
 * conflicts with earlier ones is replaced by another draw; a truncation goes last, since every
 * later operation would have to land before the cut). `table` may already hold earlier
 * operations. Returns the drawn operations and the table.
 */
export async function randomOps(
  ctx: ApplyContext,
  targets: Targets,
  rng: Rng,
  count: number,
  table = new PieceTable(ctx.input.size),
): Promise<{ ops: CorruptOp[]; table: PieceTable }> {
  const ops: CorruptOp[] = [];
  let cut: CorruptOp | undefined;
  let attempts = 0;
  while (ops.length + (cut ? 1 : 0) < count && attempts < count * 50 + 50) {
    attempts++;
    const op = randomOp(rng, targets);
    if (op.op === "truncate") {
      cut ??= op;
      continue;
    }
    const snapshot = table.list.slice();
    try {
      await applyOp(table, ctx, op);
      ops.push(op);
    } catch (e) {
      if (!(e instanceof CorruptOpError)) throw e;
      table.restore(snapshot);
    }
  }
  if (cut && cut.op === "truncate") {
    const length = Math.min(cut.length, table.length);
    table.truncate(length);
    ops.push({ op: "truncate", length });
  }
  return { ops, table };
}
