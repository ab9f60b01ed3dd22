/**
 * The shape of QEMU's `-dump-vmstate` JSON (savevm.c dump_vmstate_json_to_file) and a writer
 * that reproduces its exact text layout, so a dump written by snapshell diffs cleanly against
 * one written by QEMU and feeds QEMU's own vmstate-static-checker.py unchanged.
 * @module
 */

/** One field row of a dumped description. */
export interface DumpField {
  /** Field name. */
  field: string;
  /** First version the field exists in. */
  version_id: number;
  /** True when an `exists` test decides the field. */
  field_exists: boolean;
  /** Element count of a VMS_ARRAY field (QEMU 8.1+ dumps only). */
  num?: number;
  /** QEMU's `field->size` (the element's C size; not the wire size of pointers/VBUFFERs). */
  size: number;
  /** Nested description (STRUCT, VSTRUCT, tmp, lists, trees). */
  Description?: DumpDescription;
}

/** One dumped description (top level or subsection). */
export interface DumpDescription {
  /** Description name. */
  name: string;
  /** Its version. */
  version_id: number;
  /** Lowest version it loads. */
  minimum_version_id: number;
  /** Fields, VALIDATE rows left out as QEMU does. */
  Fields?: DumpField[];
  /** Subsections, when the description has any. */
  Subsections?: DumpDescription[];
}

/** One device type's entry. */
export interface DumpSection {
  /** The key again (QEMU writes the type name twice). */
  Name: string;
  /** Top-level version. */
  version_id: number;
  /** Top-level minimum version. */
  minimum_version_id: number;
  /** The description. */
  Description: DumpDescription;
}

/** A whole dump: the machine, then one entry per device type, in file order. */
export interface Dump {
  /** Machine type name. */
  machine: string;
  /** Entries by QOM type name (or section idstr for snapshell devices without one). */
  sections: Map<string, DumpSection>;
}

/** Parse a dump's JSON text (QEMU's or snapshell's), keeping entry order. */
export function parseDump(text: string): Dump {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const sections = new Map<string, DumpSection>();
  let machine = "";
  for (const [k, v] of Object.entries(raw)) {
    if (k === "vmschkmachine") machine = String((v as { Name?: string }).Name ?? "");
    else sections.set(k, v as DumpSection);
  }
  return { machine, sections };
}

const sp = (n: number) => " ".repeat(n);
const str = (s: string) => JSON.stringify(s);

function formatField(f: DumpField, indent: number): string {
  const i = indent + 2;
  let out = `${sp(indent)}{\n`;
  out += `${sp(i)}"field": ${str(f.field)},\n`;
  out += `${sp(i)}"version_id": ${f.version_id},\n`;
  out += `${sp(i)}"field_exists": ${f.field_exists ? "true" : "false"},\n`;
  if (f.num !== undefined) out += `${sp(i)}"num": ${f.num},\n`;
  out += `${sp(i)}"size": ${f.size}`;
  if (f.Description) out += `,\n${formatDescription(f.Description, i, false)}`;
  return out + `\n${sp(indent)}}`;
}

function formatDescription(d: DumpDescription, indent: number, subsection: boolean): string {
  let out = subsection ? `${sp(indent)}{\n` : `${sp(indent)}"Description": {\n`;
  const i = indent + 2;
  out += `${sp(i)}"name": ${str(d.name)},\n`;
  out += `${sp(i)}"version_id": ${d.version_id},\n`;
  out += `${sp(i)}"minimum_version_id": ${d.minimum_version_id}`;
  if (d.Fields) {
    out += `,\n${sp(i)}"Fields": [\n`;
    out += d.Fields.map((f) => formatField(f, i + 2)).join(",\n");
    out += `\n${sp(i)}]`;
  }
  if (d.Subsections) {
    out += `,\n${sp(i)}"Subsections": [\n`;
    out += d.Subsections.map((s) => formatDescription(s, i + 2, true)).join(",\n");
    out += `\n${sp(i)}]`;
  }
  return out + `\n${sp(indent)}}`;
}

/** Write a dump in QEMU's exact layout (two-space indents, one member per line). */
export function formatDump(dump: Dump): string {
  const out = `{\n  "vmschkmachine": {\n    "Name": ${str(dump.machine)}\n  },\n`;
  const entries: string[] = [];
  for (const [name, s] of dump.sections) {
    let e = `  ${str(name)}: {\n`;
    e += `    "Name": ${str(s.Name)},\n`;
    e += `    "version_id": ${s.version_id},\n`;
    e += `    "minimum_version_id": ${s.minimum_version_id},\n`;
    e += formatDescription(s.Description, 4, false);
    entries.push(e + `\n  }`);
  }
  return out + entries.join(",\n") + "\n}\n";
}
