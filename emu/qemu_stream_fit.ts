/**
 * What stands between a QEMU 7.2 stream and this emulator's `qemu-virt` machine, named exactly:
 * the machine type of its configuration record, each RAM block QEMU riscv virt has not (or of
 * another size), and from its vmdesc trailer each device section, subsection and field whose
 * name or wire size differs from ours (riscv64's 8-byte target_ulong in `cpu`, an x86 device).
 * `check` and `compat --stream` print it when a stream does not load, so a user sees every
 * blocker at once rather than the first one the loader trips on.
 * @module
 */
import { SectionType } from "../migration/sections/constants.ts";
import { StreamWriter } from "../migration/stream/writer.ts";
import type { VmStateDescription } from "../migration/vmstate/description.ts";
import { streamBlocks, VirtMachine, type VirtOptions } from "./virt.ts";

/** One thing that stands in the way, located like a typed error. */
export interface StreamBlocker {
  /** `configuration`, `ram` or the section label (`cpu`, `pflash_cfi01/1`). */
  where: string;
  /** Field path inside the section, when a field is the blocker. */
  field?: string;
  /** What is wrong, in words. */
  text: string;
  /** Blockers of one kind in one section print as one line (`size:8:4`, `unknown-field`). */
  group?: string;
}

/** A vmdesc field entry, as QEMU writes it. */
interface DescField {
  name: string;
  type?: string;
  size?: number;
  index?: number;
  array_len?: number;
  struct?: DescVmsd;
}

/** A vmdesc description (device, struct or subsection). */
interface DescVmsd {
  vmsd_name?: string;
  fields?: DescField[];
  subsections?: DescVmsd[];
}

/** A vmdesc device entry. */
interface DescDevice extends DescVmsd {
  name: string;
  instance_id: number;
}

/** QEMU 7.2's riscv32 virt machine type name, as the configuration record carries it. */
const QEMU_RISCV_VIRT = "virt";

/**
 * Whether `bytes` come from a QEMU machine other than snapshell's own `virt`: QEMU riscv virt's
 * block list (`virt.flash0`) or another machine type. Only for those are blockers worth naming.
 */
export function isForeignQemuStream(bytes: Uint8Array): boolean {
  const type = streamMachineType(bytes);
  if (type !== undefined && type !== QEMU_RISCV_VIRT) return true;
  return streamBlocks(bytes)?.some((b) => b.idstr === "virt.flash0") ?? false;
}

/** The machine type of a stream's configuration record, when it has one. */
export function streamMachineType(bytes: Uint8Array): string | undefined {
  if (bytes.length < 13 || bytes[8] !== SectionType.CONFIGURATION) return undefined;
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(9);
  if (13 + len > bytes.length) return undefined;
  return new TextDecoder().decode(bytes.subarray(13, 13 + len));
}

/** The vmdesc trailer's devices (EOF, 0x06, be32 length, JSON to the end), when there is one. */
export function streamVmdesc(bytes: Uint8Array): DescDevice[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const from = Math.max(0, bytes.length - (16 << 20));
  for (let at = bytes.length - 6; at >= from; at--) {
    if (bytes[at] !== SectionType.EOF || bytes[at + 1] !== SectionType.VMDESCRIPTION) continue;
    if (at + 6 + view.getUint32(at + 2) !== bytes.length) continue;
    try {
      const json = JSON.parse(new TextDecoder().decode(bytes.subarray(at + 6)));
      return Array.isArray(json?.devices) ? json.devices : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const label = (d: DescDevice) => d.instance_id ? `${d.name}/${d.instance_id}` : d.name;
const fieldKey = (f: DescField) => f.index === undefined ? f.name : `${f.name}[${f.index}]`;

/** Why a field's wire size differs, in the words a user looks for. */
function sizeNote(theirs: number, ours: number): string {
  return theirs === 8 && ours === 4 ? " (a 64-bit target's target_ulong: riscv64's, x86_64's)" : "";
}

/** Compares one description's fields (and structs, subsections) with ours. */
function compareVmsd(
  where: string,
  path: string,
  theirs: DescVmsd,
  ours: DescVmsd | undefined,
  declared: VmStateDescription | undefined,
  out: StreamBlocker[],
): void {
  const mine = new Map((ours?.fields ?? []).map((f) => [fieldKey(f), f]));
  for (const f of theirs.fields ?? []) {
    const name = `${path}${fieldKey(f)}`;
    const o = mine.get(fieldKey(f));
    if (!o) {
      out.push({
        where,
        field: name,
        text: `field ${name} (${f.type}) is not known here`,
        group: "are not known here",
      });
      continue;
    }
    if (f.size !== o.size) {
      out.push({
        where,
        field: name,
        text: `field ${name} is ${f.size} bytes in the stream, ${o.size} here${
          sizeNote(f.size ?? 0, o.size ?? 0)
        }`,
        group: `are ${f.size} bytes in the stream, ${o.size} here${
          sizeNote(f.size ?? 0, o.size ?? 0)
        }`,
      });
    } else if (f.array_len !== o.array_len) {
      out.push({
        where,
        field: name,
        text: `field ${name} has ${f.array_len ?? 1} elements in the stream, ${
          o.array_len ?? 1
        } here`,
      });
    }
    if (f.struct && o.struct) compareVmsd(where, `${name}.`, f.struct, o.struct, undefined, out);
  }
  const subs = new Map((ours?.subsections ?? []).map((s) => [s.vmsd_name, s]));
  for (const s of theirs.subsections ?? []) {
    const o = subs.get(s.vmsd_name);
    const decl = declared?.subsections?.find((d) => d.name === s.vmsd_name);
    if (!decl && !o) {
      out.push({ where, field: s.vmsd_name, text: `subsection ${s.vmsd_name} is not known here` });
    } else if (o) compareVmsd(where, path, s, o, decl, out);
  }
}

/**
 * Everything that stands between the QEMU stream `bytes` and a `qemu-virt` machine shaped by
 * `opts` (the stream's own RAM size by default): empty when nothing does by name and size (the
 * values are then the loader's to judge). Streams without a vmdesc are judged by their machine
 * type and blocks only.
 */
export async function qemuStreamBlockers(
  bytes: Uint8Array,
  opts: VirtOptions = {},
): Promise<StreamBlocker[]> {
  const out: StreamBlocker[] = [];
  const type = streamMachineType(bytes);
  if (type !== undefined && type !== QEMU_RISCV_VIRT) {
    out.push({
      where: "configuration",
      text: `machine type '${type}': this side builds QEMU 7.2's riscv32 '${QEMU_RISCV_VIRT}' ` +
        "(qemu-virt) and its own virt",
    });
  }
  const blocks = streamBlocks(bytes) ?? [];
  const ram = blocks.find((b) => b.idstr === "riscv_virt_board.ram")?.length;
  const m = new VirtMachine({ profile: "qemu-virt", ramSize: ram ?? 16 << 20, ...opts });
  const ours = m.qemuBlockSizes();
  for (const b of blocks) {
    const here = ours.get(b.idstr);
    if (here === undefined) {
      out.push({
        where: "ram",
        field: b.idstr,
        text: `RAM block "${b.idstr}" (0x${b.length.toString(16)} bytes) has no counterpart here`,
      });
    } else if (here !== b.length) {
      out.push({
        where: "ram",
        field: b.idstr,
        text: `RAM block "${b.idstr}" is 0x${b.length.toString(16)} bytes in the stream, ` +
          `0x${here.toString(16)} here`,
      });
    }
  }
  const theirs = streamVmdesc(bytes);
  if (!theirs) return out;
  const w = new StreamWriter();
  await m.save(w);
  const mine = streamVmdesc(w.take()) ?? [];
  const byKey = new Map(mine.map((d) => [`${d.name}#${d.instance_id}`, d]));
  for (const d of theirs) {
    const o = byKey.get(`${d.name}#${d.instance_id}`);
    const entry = m.registry.find(d.name, d.instance_id);
    if (!o && !entry) {
      out.push({ where: label(d), text: `no such device here (vmsd ${d.vmsd_name})` });
      continue;
    }
    compareVmsd(label(d), "", d, o, entry?.vmsd, out);
  }
  return out;
}

/**
 * The blockers as lines (`section 'cpu': field env.pc is 8 bytes ...`), fields of one kind in one
 * section on one line (the first few named), at most `limit` lines and a count of the rest.
 */
export function renderBlockers(blockers: readonly StreamBlocker[], limit = 24): string[] {
  const groups = new Map<string, StreamBlocker[]>();
  for (const b of blockers) {
    const key = b.group ? `${b.where}\0${b.group}` : `${groups.size}\0`;
    groups.set(key, [...groups.get(key) ?? [], b]);
  }
  const lines = [...groups.values()].map((bs) => {
    const b = bs[0];
    const head = b.where === "ram" || b.where === "configuration"
      ? `${b.where}: `
      : `section '${b.where}': `;
    if (bs.length === 1) return head + b.text;
    const names = bs.slice(0, 4).map((x) => x.field).join(", ");
    const more = bs.length > 4 ? `, … ${bs.length - 4} more` : "";
    return `${head}${bs.length} fields ${b.group} (${names}${more})`;
  });
  if (lines.length > limit) {
    const rest = lines.length - limit;
    return [...lines.slice(0, limit), `… and ${rest} more`];
  }
  return lines;
}
