/**
 * Field-level corruption of QEMU_VM_COMMAND records (`command:N:FIELD=VALUE`), postcopy's above
 * all: the N-th command of the stream (0-based, stream order, PACKAGED's inner ones included)
 * gets its be16 `cmd` or `length`, one payload byte `data[I]`, or a decoded field rewritten in
 * place: ADVISE's be64 `pagesize` / `target-pagesize`, DISCARD's be64 `start[K]` / `size[K]`,
 * PACKAGED's be32 `package-length`. So the destination's checks (unknown command, bad lengths,
 * page sizes that differ, ranges outside the block, a package that does not end with RUN) can be
 * hit exactly.
 * @module
 */
import type { StreamLayout } from "../inspect/layout.ts";
import type { CommandRecord } from "../inspect/model.ts";
import { MigCommand } from "../sections/constants.ts";
import { CorruptOpError } from "./errors.ts";
import type { PieceTable } from "./pieces.ts";

/** The fields of a command that can be rewritten. */
export const COMMAND_FIELDS = [
  "cmd",
  "length",
  "data[I]",
  "pagesize",
  "target-pagesize",
  "start[K]",
  "size[K]",
  "package-length",
] as const;

/** Every command of a layout, in stream order. */
export function commandRecords(layout: StreamLayout): CommandRecord[] {
  const out: CommandRecord[] = [];
  for (const item of layout.result.items) if (item.type === "command") out.push(item);
  return out;
}

/** Check a field name; throws a syntax error. */
export function checkCommandField(field: string): void {
  if (
    ["cmd", "length", "pagesize", "target-pagesize", "package-length"].includes(field) ||
    /^(data|start|size)\[\d+\]$/.test(field)
  ) return;
  throw new CorruptOpError(
    "syntax",
    `command field "${field}" is not one of ${COMMAND_FIELDS.join(", ")}`,
  );
}

/** Where a field is (stream offset) and how wide, for command `c`; throws when it has none. */
function locate(c: CommandRecord, field: string): { at: number; width: number } {
  const payload = c.offset + 5;
  const none = (what: string) =>
    new CorruptOpError("not-found", `command ${c.cmd} at byte ${c.offset} has no ${what}`);
  if (field === "cmd") return { at: c.offset + 1, width: 2 };
  if (field === "length") return { at: c.offset + 3, width: 2 };
  const indexed = /^(data|start|size)\[(\d+)\]$/.exec(field);
  if (indexed && indexed[1] === "data") {
    const i = Number(indexed[2]);
    if (i >= c.length) throw none(`data[${i}] (${c.length} data bytes)`);
    return { at: payload + i, width: 1 };
  }
  if (field === "pagesize" || field === "target-pagesize") {
    if (c.cmd !== MigCommand.POSTCOPY_ADVISE || c.length !== 16) throw none(field);
    return { at: payload + (field === "pagesize" ? 0 : 8), width: 8 };
  }
  if (field === "package-length") {
    if (c.cmd !== MigCommand.PACKAGED || c.length !== 4) throw none(field);
    return { at: payload, width: 4 };
  }
  const ranges = c.detail?.fields.ranges as [number, number][] | undefined;
  const k = Number(indexed![2]);
  if (c.cmd !== MigCommand.POSTCOPY_RAM_DISCARD || !ranges || k >= ranges.length) {
    throw none(`${indexed![1]}[${k}]`);
  }
  const nameBytes = new TextEncoder().encode(c.detail!.fields.block as string).length;
  const first = payload + 3 + nameBytes; // version, name length, name, NUL
  return { at: first + 16 * k + (indexed![1] === "start" ? 0 : 8), width: 8 };
}

/** Rewrite one field of the `index`-th command in `table`. */
export function setCommandField(
  table: PieceTable,
  layout: StreamLayout,
  index: number,
  field: string,
  value: number,
): void {
  checkCommandField(field);
  const all = commandRecords(layout);
  const c = all[index];
  if (!c) {
    throw new CorruptOpError(
      "not-found",
      `the stream has ${all.length} commands, not a command ${index}`,
    );
  }
  const { at, width } = locate(c, field);
  const max = width >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * width) - 1;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new CorruptOpError("range", `${field} ${value} is not 0..${max}`);
  }
  const bytes = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    bytes[i] = v % 256;
    v = Math.floor(v / 256);
  }
  table.replace(at, at + width, [{ src: "bytes", bytes }]);
}
