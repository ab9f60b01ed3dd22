/**
 * The JSON that analyze-migration.py prints: `-d state` (optionally with `-m` memory) and
 * `-d desc`, built from an {@link InspectResult} so `snapshell inspect` can stand in for it.
 * Values compare equal as parsed JSON with the QEMU 7.2 script's output.
 * @module
 */
import { setKey, toPython } from "./json_pairs.ts";
import type { DecodedStruct, InspectResult, SectionState } from "./model.ts";
import { formatLeaf } from "./vmsd.ts";

/** A plain JSON value (what JSON.stringify prints). */
export type PlainJson = null | boolean | number | string | PlainJson[] | { [k: string]: PlainJson };

/**
 * The `-d state` document: one key `"<idstr> (<section_id>)"` per section in order of first
 * appearance. Sections without a decoder the script has (no vmdesc entry) are left out; the
 * result's warnings say why.
 */
export function analyzeState(result: InspectResult): Record<string, PlainJson> {
  const out: Record<string, PlainJson> = {};
  for (const [id, s] of result.sections) {
    const v = sectionValue(s);
    if (v !== undefined) setKey(out, `${s.idstr} (${id})`, v);
  }
  return out;
}

/** The `-d desc` document: the vmdesc as Python reads it (duplicate keys: last value wins). */
export function analyzeDesc(result: InspectResult): PlainJson | undefined {
  const d = result.vmdesc?.desc;
  return d ? toPython(d.json) as PlainJson : undefined;
}

function sectionValue(s: SectionState): PlainJson | undefined {
  if (s.decoder === "ram") {
    const sizes: Record<string, PlainJson> = {};
    for (const b of s.blocks ?? []) {
      setKey(sizes, b.name, "0x" + b.length.toString(16).padStart(16, "0"));
    }
    const ram: Record<string, PlainJson> = { "section sizes": sizes };
    if (s.memory) {
      const mem: Record<string, PlainJson> = {};
      for (const [k, v] of s.memory) setKey(mem, k, v);
      ram.memory = mem;
    }
    return ram;
  }
  if (s.decoder === "htab") return "";
  if (s.decoder === "vmsd") return s.vmsd ? structValue(s.vmsd) : {};
  return undefined;
}

/** A decoded struct as the script's getDict: lists for indexed fields, subsections by name. */
export function structValue(st: DecodedStruct): Record<string, PlainJson> {
  const out: Record<string, PlainJson> = {};
  for (const f of st.fields) {
    const v: PlainJson = f.value.kind === "struct" ? structValue(f.value) : formatLeaf(f.value);
    if (f.index !== undefined) {
      const cur = Object.hasOwn(out, f.name) ? out[f.name] : undefined;
      if (Array.isArray(cur)) cur.push(v);
      else setKey(out, f.name, [v]);
    } else setKey(out, f.name, v);
  }
  for (const sub of st.subsections) setKey(out, sub.name, structValue(sub.value));
  return out;
}

/**
 * Serialise exactly as the script's `json.JSONEncoder(indent=4, separators=(',', ': '))` does
 * (ASCII-only escapes), so files such as extract's desc.json and state.json match byte for byte.
 */
export function pythonJson(v: PlainJson, indent = 4): string {
  // JSON.stringify with an indent lays out, orders keys and escapes quotes, backslashes and
  // control characters exactly as Python's encoder does; only `ensure_ascii` is left: DEL and
  // everything above it as \uXXXX (lower-case hex, surrogate pairs for astral characters, which
  // JavaScript strings already hold as pairs). Structure is ASCII, so only strings can match.
  return JSON.stringify(v, null, indent).replace(NON_ASCII, asciiEscape);
}

/** What Python's `ensure_ascii` escapes that JSON.stringify leaves as it is. */
const NON_ASCII = /[\u007f-\uffff]/g;

function asciiEscape(c: string): string {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}
