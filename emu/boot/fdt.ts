/**
 * A deterministic flattened device tree (DTB, devicetree spec v0.4 chapter 5) writer and a small
 * reader. The same tree always gives the same bytes: nodes and properties keep insertion order,
 * property names are stored once each in first-use order, and there is no padding or free space.
 * @module
 */
import { EmuError } from "../errors.ts";

/** FDT header magic. */
export const FDT_MAGIC = 0xd00dfeed;
/** Format version written (17) and the oldest it is compatible with (16). */
export const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;

/** What went wrong with a tree: bad input to the writer (incompatible) or a bad blob (corrupt). */
export type FdtErrorKind = "incompatible" | "corrupt";

/** A device tree could not be written or read; names the node path and property. */
export class FdtError extends EmuError {
  /** incompatible: the tree given to the writer is invalid; corrupt: a blob is malformed. */
  readonly kind: FdtErrorKind;
  /** Node path ("/soc/serial@10000000"), plus "/prop" for a property. */
  readonly path: string;
  /** Byte offset in the blob (reader only; -1 for the writer). */
  readonly offset: number;
  /** Creates the error. */
  constructor(kind: FdtErrorKind, path: string, message: string, offset = -1) {
    super(`device tree ${path}: ${message}${offset >= 0 ? ` (at byte ${offset})` : ""}`);
    this.kind = kind;
    this.path = path;
    this.offset = offset;
  }
}

/**
 * A property value: `string` (NUL-terminated), `string[]` (string list), `number` (one u32 cell),
 * `number[]` (u32 cells), `Uint8Array` (raw bytes) or `true` (empty property, a flag).
 */
export type FdtValue = string | string[] | number | number[] | Uint8Array | true;

/** One node of a tree being built; children and properties keep the order they were added in. */
export class FdtNode {
  /** Node name with unit address ("serial@10000000"); "" for the root. */
  readonly name: string;
  /** Properties in insertion order. */
  readonly props: [string, FdtValue][] = [];
  /** Child nodes in insertion order. */
  readonly children: FdtNode[] = [];

  /** Creates a detached node. */
  constructor(name: string) {
    this.name = name;
  }

  /** Adds a property (names are unique within a node); returns this node for chaining. */
  prop(name: string, value: FdtValue): this {
    if (this.props.some(([n]) => n === name)) {
      throw new FdtError("incompatible", `${this.name}/${name}`, "duplicate property");
    }
    this.props.push([name, value]);
    return this;
  }

  /** Adds and returns a child node (names are unique among siblings). */
  child(name: string): FdtNode {
    if (this.children.some((c) => c.name === name)) {
      throw new FdtError("incompatible", `${this.name}/${name}`, "duplicate node");
    }
    const c = new FdtNode(name);
    this.children.push(c);
    return c;
  }

  /** The property's value, or undefined. */
  get(name: string): FdtValue | undefined {
    return this.props.find(([n]) => n === name)?.[1];
  }

  /** The child with this name, or undefined. */
  find(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }
}

/** Splits a 64-bit address or size into two cells (high, low), as `#address-cells = 2` wants. */
export function cells64(v: number | bigint): [number, number] {
  const b = BigInt(v);
  if (b < 0n || b > 0xffff_ffff_ffff_ffffn) {
    throw new FdtError("incompatible", "", `value ${v} does not fit in two cells`);
  }
  return [Number(b >> 32n), Number(b & 0xffff_ffffn)];
}

const enc = new TextEncoder();
const NAME_RE = /^[A-Za-z0-9,._+#?-]+$/;
const NODE_RE = /^[A-Za-z0-9,._+-]+(@[A-Za-z0-9,._+-]+)?$/;

function encodeValue(v: FdtValue, path: string): Uint8Array {
  if (v === true) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string" || Array.isArray(v) && v.every((s) => typeof s === "string")) {
    const list = typeof v === "string" ? [v] : v as string[];
    const parts = list.map((s) => {
      if (s.includes("\0")) throw new FdtError("incompatible", path, "string holds a NUL");
      return enc.encode(s + "\0");
    });
    return concat(parts);
  }
  const cells = typeof v === "number" ? [v] : v as number[];
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffff_ffff) {
      throw new FdtError("incompatible", path, `cell ${i} = ${c} is not a u32`);
    }
    dv.setUint32(i * 4, c);
  });
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Growable big-endian byte sink for the structure block. */
class Sink {
  buf = new Uint8Array(4096);
  len = 0;
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u32(v: number): void {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.len, v);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length + 3);
    this.buf.set(b, this.len);
    this.len += b.length;
    while (this.len & 3) this.buf[this.len++] = 0;
  }
}

/** A memory reservation entry (the `/memreserve/` block). */
export interface FdtReservation {
  /** Start address. */
  address: bigint;
  /** Size in bytes. */
  size: bigint;
}

/** Options of {@link buildDtb}. */
export interface DtbOptions {
  /** `boot_cpuid_phys` of the header (default 0). */
  bootCpuId?: number;
  /** Memory reservations (default none). */
  reservations?: readonly FdtReservation[];
}

/** Serialises a tree to DTB bytes; same tree and options, same bytes. */
export function buildDtb(root: FdtNode, opts: DtbOptions = {}): Uint8Array {
  if (root.name !== "") throw new FdtError("incompatible", root.name, "the root node has no name");
  const strings: Uint8Array[] = [];
  const stringOff = new Map<string, number>();
  let stringsLen = 0;
  const nameOff = (name: string): number => {
    let off = stringOff.get(name);
    if (off === undefined) {
      off = stringsLen;
      const b = enc.encode(name + "\0");
      strings.push(b);
      stringsLen += b.length;
      stringOff.set(name, off);
    }
    return off;
  };
  const struct = new Sink();
  const walk = (node: FdtNode, path: string): void => {
    if (path !== "/" && !NODE_RE.test(node.name)) {
      throw new FdtError("incompatible", path, "invalid node name");
    }
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(enc.encode(node.name + "\0"));
    for (const [name, value] of node.props) {
      const ppath = `${path === "/" ? "" : path}/${name}`;
      if (!NAME_RE.test(name)) throw new FdtError("incompatible", ppath, "invalid property name");
      const data = encodeValue(value, ppath);
      struct.u32(FDT_PROP);
      struct.u32(data.length);
      struct.u32(nameOff(name));
      struct.bytes(data);
    }
    for (const c of node.children) walk(c, `${path === "/" ? "" : path}/${c.name}`);
    struct.u32(FDT_END_NODE);
  };
  walk(root, "/");
  struct.u32(FDT_END);

  const rsv = opts.reservations ?? [];
  const rsvOff = HEADER_SIZE; // 8-aligned
  const structOff = rsvOff + (rsv.length + 1) * 16;
  const stringsOff = structOff + struct.len;
  const total = stringsOff + stringsLen;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [
    FDT_MAGIC,
    total,
    structOff,
    stringsOff,
    rsvOff,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    opts.bootCpuId ?? 0,
    stringsLen,
    struct.len,
  ];
  header.forEach((v, i) => dv.setUint32(i * 4, v >>> 0));
  rsv.forEach((r, i) => {
    dv.setBigUint64(rsvOff + i * 16, r.address);
    dv.setBigUint64(rsvOff + i * 16 + 8, r.size);
  });
  out.set(struct.buf.subarray(0, struct.len), structOff);
  out.set(concat(strings), stringsOff);
  return out;
}

/** Reads a DTB back into nodes whose property values are raw bytes (for tests and `info`). */
export function parseDtb(blob: Uint8Array): FdtNode {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const bad = (msg: string, off: number, path = "/"): never => {
    throw new FdtError("corrupt", path, msg, off);
  };
  if (blob.length < HEADER_SIZE) bad("shorter than the header", 0);
  if (dv.getUint32(0) !== FDT_MAGIC) bad("bad magic", 0);
  const total = dv.getUint32(4);
  const structOff = dv.getUint32(8);
  const stringsOff = dv.getUint32(12);
  const stringsLen = dv.getUint32(32);
  const structLen = dv.getUint32(36);
  if (total > blob.length) bad(`totalsize ${total} exceeds the ${blob.length} bytes given`, 4);
  if (structOff + structLen > total) bad("structure block outside the blob", 8);
  if (stringsOff + stringsLen > total) bad("strings block outside the blob", 12);
  const dec = new TextDecoder("utf-8", { fatal: false });
  const cstr = (off: number, end: number): [string, number] => {
    let e = off;
    while (e < end && blob[e] !== 0) e++;
    if (e >= end) bad("unterminated string", off);
    return [dec.decode(blob.subarray(off, e)), e + 1];
  };
  const end = structOff + structLen;
  let p = structOff;
  const u32 = (): number => {
    if (p + 4 > end) bad("structure block ends early", p);
    const v = dv.getUint32(p);
    p += 4;
    return v;
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | null = null;
  for (;;) {
    const at = p;
    const tok = u32();
    if (tok === FDT_BEGIN_NODE) {
      const [name, next] = cstr(p, end);
      p = (next + 3) & ~3;
      const node = stack.length === 0 ? new FdtNode(name) : stack[stack.length - 1].child(name);
      if (stack.length === 0) {
        if (root !== null) bad("second root node", at);
        root = node;
      }
      stack.push(node);
    } else if (tok === FDT_PROP) {
      const len = u32();
      const nameoff = u32();
      if (stack.length === 0) bad("property outside a node", at);
      if (nameoff >= stringsLen) bad("property name offset outside the strings block", at + 8);
      const [name] = cstr(stringsOff + nameoff, stringsOff + stringsLen);
      if (p + len > end) bad(`property ${name} runs past the structure block`, at);
      stack[stack.length - 1].prop(name, blob.slice(p, p + len));
      p = (p + len + 3) & ~3;
    } else if (tok === FDT_END_NODE) {
      if (stack.pop() === undefined) bad("unbalanced end of node", at);
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      if (stack.length !== 0 || root === null) bad("end token inside a node", at);
      return root as FdtNode;
    } else {
      bad(`unknown token ${tok}`, at);
    }
  }
}

/** Decodes raw property bytes as u32 cells. */
export function fdtCells(v: FdtValue | undefined): number[] {
  if (!(v instanceof Uint8Array)) throw new FdtError("incompatible", "", "not a raw value");
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: v.length >> 2 }, (_, i) => dv.getUint32(i * 4));
}

/** Decodes raw property bytes as a string list. */
export function fdtStrings(v: FdtValue | undefined): string[] {
  if (!(v instanceof Uint8Array)) throw new FdtError("incompatible", "", "not a raw value");
  const s = new TextDecoder().decode(v);
  return s.endsWith("\0") ? s.slice(0, -1).split("\0") : [s];
}
