/**
 * The corruption operations, as plain JSON-serialisable records (what a recipe stores), and
 * their one-word command-line spelling (`flip:0x1f:3`, `drop:serial`, `field:serial.lsr=0xff`).
 * Byte offsets are offsets in the input stream; sections, subsections and fields are named as
 * `selectors.ts` resolves them.
 * @module
 */
import { CorruptOpError } from "./errors.ts";
import { checkXbzrleField } from "./ram_fields.ts";
import { checkCommandField } from "./command_fields.ts";

/** How to damage a footer. */
export type FooterDamage = "drop" | "id" | "marker";
/** How to damage the vmdesc trailer. */
export type VmdescDamage = "drop" | "length" | "truncate" | "json" | "marker";

/** One corruption operation. */
export type CorruptOp =
  // byte level
  | { op: "flip"; offset: number; bit: number }
  | { op: "set-byte"; offset: number; value: number }
  | { op: "insert"; offset: number; hex: string }
  | { op: "delete"; offset: number; length: number }
  | { op: "truncate"; length: number }
  | {
    op: "splice";
    offset: number;
    length: number;
    /** File to take bytes from; `-` is the input itself. */
    source: string;
    sourceOffset: number;
    sourceLength: number;
  }
  // structure level
  | { op: "drop-section"; section: string }
  | { op: "duplicate-section"; section: string }
  | { op: "move-section"; section: string; before: string }
  | { op: "drop-subsection"; subsection: string }
  | { op: "rename-subsection"; subsection: string; to: string }
  | { op: "set-version"; section: string; version: number }
  | { op: "set-subsection-version"; subsection: string; version: number }
  | { op: "set-instance"; section: string; instance: number }
  | { op: "break-footer"; section: string; how: FooterDamage }
  | { op: "damage-vmdesc"; how: VmdescDamage }
  // meaning level
  | { op: "set-field"; path: string; value: string }
  /** The `record`-th XBZRLE record's `offset`, `encoding`, `length` or `data[I]` (ram_fields.ts). */
  | { op: "set-xbzrle"; record: number; field: string; value: number }
  /** The `index`-th command's `cmd`, `length`, `data[I]` or decoded field (command_fields.ts). */
  | { op: "set-command"; index: number; field: string; value: number };

/** Operation names, in the order help lists them. */
export const OP_NAMES = [
  "flip",
  "set-byte",
  "insert",
  "delete",
  "truncate",
  "splice",
  "drop-section",
  "duplicate-section",
  "move-section",
  "drop-subsection",
  "rename-subsection",
  "set-version",
  "set-subsection-version",
  "set-instance",
  "break-footer",
  "damage-vmdesc",
  "set-field",
  "set-xbzrle",
  "set-command",
] as const;

/** Command-line spellings, one line each, for help text. */
export const OP_SYNTAX = [
  "flip:OFFSET[:BIT]          flip one bit (bit 0 by default)",
  "set:OFFSET:BYTE            set one byte",
  "insert:OFFSET:HEX          insert bytes",
  "delete:OFFSET:LENGTH       delete bytes",
  "truncate:LENGTH            cut the stream to LENGTH bytes",
  "splice:OFFSET:LENGTH:FILE:FROM:COUNT  replace bytes by COUNT bytes of FILE (- = input) at FROM",
  "drop:SECTION[@KIND]        remove a section (all its chunks, or one: ram@end)",
  "dup:SECTION[@KIND]         repeat a section right after itself",
  "move:SECTION[@KIND]:BEFORE put a section before another one (or before eof)",
  "drop-sub:SUBSECTION        remove a subsection (serial/recv_fifo)",
  "rename-sub:SUBSECTION:NAME rename a subsection",
  "version:SECTION:N          change a section's version_id",
  "sub-version:SUBSECTION:N   change a subsection's version_id",
  "instance:SECTION:N         change a section's instance_id",
  "footer:SECTION[:drop|id|marker]  break a section's footer (default id)",
  "vmdesc:drop|length|truncate|json|marker  damage the vmdesc trailer",
  "field:PATH=VALUE           rewrite a field in place (= --set PATH=VALUE)",
  "xbzrle:N:FIELD=VALUE       rewrite XBZRLE record N's offset, encoding, length or data[I]",
  "command:N:FIELD=VALUE      rewrite command N's cmd, length, data[I], pagesize, " +
  "target-pagesize, start[K], size[K] or package-length (postcopy)",
];

/** Parse an integer written in decimal, hex (0x), octal (0o) or binary (0b). */
export function parseInteger(text: string, what: string): number {
  const t = text.trim();
  if (!/^[+-]?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.test(t)) {
    throw new CorruptOpError("syntax", `${what} "${text}" is not an integer`);
  }
  const neg = t.startsWith("-");
  const v = Number(BigInt(t.replace(/^[+-]/, "")));
  if (!Number.isSafeInteger(v)) throw new CorruptOpError("range", `${what} ${text} is too large`);
  return neg ? -v : v;
}

function nonNegative(text: string, what: string): number {
  const v = parseInteger(text, what);
  if (v < 0) throw new CorruptOpError("range", `${what} ${text} is negative`);
  return v;
}

/** Parse one command-line operation word. */
export function parseOpWord(word: string): CorruptOp {
  const eq = word.startsWith("field:") ? word.indexOf("=") : -1;
  if (eq > 0) return parseAssignment(word.slice(6));
  const [name, ...a] = word.split(":");
  const need = (n: number, max = n) => {
    if (a.length < n || a.length > max) {
      throw new CorruptOpError(
        "syntax",
        `"${word}": ${name} takes ${n}${max > n ? "-" + max : ""} argument(s)`,
      );
    }
  };
  switch (name) {
    case "flip": {
      need(1, 2);
      const bit = a[1] === undefined ? 0 : parseInteger(a[1], "bit");
      if (bit < 0 || bit > 7) throw new CorruptOpError("range", `bit ${bit} is not 0..7`);
      return { op: "flip", offset: nonNegative(a[0], "offset"), bit };
    }
    case "set": {
      need(2);
      const value = parseInteger(a[1], "byte value");
      if (value < 0 || value > 255) {
        throw new CorruptOpError("range", `byte value ${a[1]} is not 0..255`);
      }
      return { op: "set-byte", offset: nonNegative(a[0], "offset"), value };
    }
    case "insert":
      need(2);
      return { op: "insert", offset: nonNegative(a[0], "offset"), hex: normalizeHex(a[1]) };
    case "delete":
      need(2);
      return {
        op: "delete",
        offset: nonNegative(a[0], "offset"),
        length: nonNegative(a[1], "length"),
      };
    case "truncate":
      need(1);
      return { op: "truncate", length: nonNegative(a[0], "length") };
    case "splice":
      need(5);
      return {
        op: "splice",
        offset: nonNegative(a[0], "offset"),
        length: nonNegative(a[1], "length"),
        source: a[2],
        sourceOffset: nonNegative(a[3], "source offset"),
        sourceLength: nonNegative(a[4], "source length"),
      };
    case "drop":
      need(1);
      return { op: "drop-section", section: a[0] };
    case "dup":
      need(1);
      return { op: "duplicate-section", section: a[0] };
    case "move":
      need(2);
      return { op: "move-section", section: a[0], before: a[1] };
    case "drop-sub":
      need(1);
      return { op: "drop-subsection", subsection: a[0] };
    case "rename-sub":
      need(2);
      return { op: "rename-subsection", subsection: a[0], to: a[1] };
    case "version":
      need(2);
      return { op: "set-version", section: a[0], version: u32(a[1], "version") };
    case "sub-version":
      need(2);
      return { op: "set-subsection-version", subsection: a[0], version: u32(a[1], "version") };
    case "instance":
      need(2);
      return { op: "set-instance", section: a[0], instance: u32(a[1], "instance") };
    case "footer": {
      need(1, 2);
      const how = (a[1] ?? "id") as FooterDamage;
      if (!["drop", "id", "marker"].includes(how)) {
        throw new CorruptOpError("syntax", `footer damage "${how}" is not drop, id or marker`);
      }
      return { op: "break-footer", section: a[0], how };
    }
    case "vmdesc": {
      need(1);
      const how = a[0] as VmdescDamage;
      if (!["drop", "length", "truncate", "json", "marker"].includes(how)) {
        throw new CorruptOpError(
          "syntax",
          `vmdesc damage "${how}" is not drop, length, truncate, json or marker`,
        );
      }
      return { op: "damage-vmdesc", how };
    }
    case "xbzrle": {
      need(2);
      const eqAt = a[1].indexOf("=");
      if (eqAt <= 0) {
        throw new CorruptOpError("syntax", `"${word}" is not xbzrle:N:FIELD=VALUE`);
      }
      const field = a[1].slice(0, eqAt);
      checkXbzrleField(field);
      return {
        op: "set-xbzrle",
        record: nonNegative(a[0], "record"),
        field,
        value: nonNegative(a[1].slice(eqAt + 1), "value"),
      };
    }
    case "command": {
      need(2);
      const eqAt = a[1].indexOf("=");
      if (eqAt <= 0) {
        throw new CorruptOpError("syntax", `"${word}" is not command:N:FIELD=VALUE`);
      }
      const field = a[1].slice(0, eqAt);
      checkCommandField(field);
      return {
        op: "set-command",
        index: nonNegative(a[0], "command"),
        field,
        value: nonNegative(a[1].slice(eqAt + 1), "value"),
      };
    }
    default:
      throw new CorruptOpError(
        "syntax",
        `unknown operation "${word}"; use one of: ${
          OP_SYNTAX.map((s) => s.split(/[:\s]/)[0]).join(", ")
        }`,
      );
  }
}

function u32(text: string, what: string): number {
  const v = nonNegative(text, what);
  if (v > 0xffffffff) throw new CorruptOpError("range", `${what} ${text} does not fit 32 bits`);
  return v;
}

/** Parse `PATH=VALUE` (the `--set` form). */
export function parseAssignment(text: string): CorruptOp {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) {
    throw new CorruptOpError("syntax", `"${text}" is not PATH=VALUE (e.g. serial.lsr=0xff)`);
  }
  return { op: "set-field", path: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim() };
}

/** Hex bytes written as `0a0b`, `0x0a0b` or `0a 0b`, lowercased without separators. */
export function normalizeHex(text: string): string {
  const t = text.replace(/^0x/i, "").replace(/[\s_]/g, "").toLowerCase();
  if (!/^([0-9a-f]{2})+$/.test(t)) {
    throw new CorruptOpError("syntax", `"${text}" is not an even number of hex digits`);
  }
  return t;
}

/** Bytes of a normalized hex string. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Check a recipe's operation record (from JSON) and return it typed. */
export function checkOp(value: unknown, index: number): CorruptOp {
  const o = value as Record<string, unknown>;
  const fail = (why: string) => new CorruptOpError("recipe", why, index);
  if (typeof o !== "object" || o === null || typeof o.op !== "string") {
    throw fail('not an operation object with an "op" name');
  }
  if (!(OP_NAMES as readonly string[]).includes(o.op)) throw fail(`unknown operation "${o.op}"`);
  const ints: Record<string, string[]> = {
    "flip": ["offset", "bit"],
    "set-byte": ["offset", "value"],
    "insert": ["offset"],
    "delete": ["offset", "length"],
    "truncate": ["length"],
    "splice": ["offset", "length", "sourceOffset", "sourceLength"],
    "set-version": ["version"],
    "set-subsection-version": ["version"],
    "set-instance": ["instance"],
    "set-xbzrle": ["record", "value"],
    "set-command": ["index", "value"],
  };
  const strs: Record<string, string[]> = {
    "insert": ["hex"],
    "splice": ["source"],
    "drop-section": ["section"],
    "duplicate-section": ["section"],
    "move-section": ["section", "before"],
    "drop-subsection": ["subsection"],
    "rename-subsection": ["subsection", "to"],
    "set-version": ["section"],
    "set-subsection-version": ["subsection"],
    "set-instance": ["section"],
    "break-footer": ["section", "how"],
    "damage-vmdesc": ["how"],
    "set-field": ["path", "value"],
    "set-xbzrle": ["field"],
    "set-command": ["field"],
  };
  for (const k of ints[o.op] ?? []) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) {
      throw fail(`"${k}" must be an integer >= 0`);
    }
  }
  for (const k of strs[o.op] ?? []) {
    if (typeof o[k] !== "string") throw fail(`"${k}" must be a string`);
  }
  return o as unknown as CorruptOp;
}

/** A one-line description of an operation, in its command-line spelling. */
export function opWord(op: CorruptOp): string {
  switch (op.op) {
    case "flip":
      return `flip:${hex(op.offset)}:${op.bit}`;
    case "set-byte":
      return `set:${hex(op.offset)}:0x${op.value.toString(16)}`;
    case "insert":
      return `insert:${hex(op.offset)}:${op.hex}`;
    case "delete":
      return `delete:${hex(op.offset)}:${op.length}`;
    case "truncate":
      return `truncate:${op.length}`;
    case "splice":
      return `splice:${hex(op.offset)}:${op.length}:${op.source}:${
        hex(op.sourceOffset)
      }:${op.sourceLength}`;
    case "drop-section":
      return `drop:${op.section}`;
    case "duplicate-section":
      return `dup:${op.section}`;
    case "move-section":
      return `move:${op.section}:${op.before}`;
    case "drop-subsection":
      return `drop-sub:${op.subsection}`;
    case "rename-subsection":
      return `rename-sub:${op.subsection}:${op.to}`;
    case "set-version":
      return `version:${op.section}:${op.version}`;
    case "set-subsection-version":
      return `sub-version:${op.subsection}:${op.version}`;
    case "set-instance":
      return `instance:${op.section}:${op.instance}`;
    case "break-footer":
      return `footer:${op.section}:${op.how}`;
    case "damage-vmdesc":
      return `vmdesc:${op.how}`;
    case "set-field":
      return `field:${op.path}=${op.value}`;
    case "set-xbzrle":
      return `xbzrle:${op.record}:${op.field}=${op.field === "offset" ? hex(op.value) : op.value}`;
    case "set-command":
      return `command:${op.index}:${op.field}=${op.value}`;
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;
