/**
 * A JSON parser that keeps duplicate object keys, in order.
 *
 * QEMU's vmdesc trailer writes `vmsd_name`, `version` and `fields` several times into one object
 * for `tmp`, `qtailq` and `gtree` fields, and `JSON.parse` silently drops all but one. Objects
 * here are {@link JsonObject}s holding every `[key, value]` pair; {@link toPython} collapses them
 * the way Python's `json.loads(..., object_pairs_hook=OrderedDict)` does (first position, last
 * value), which is what analyze-migration.py works on.
 * @module
 */
import { StreamFormatError } from "../errors.ts";

/** A parsed JSON value; objects keep all their pairs, duplicates included. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object as its ordered list of pairs, so duplicate keys survive parsing. */
export class JsonObject {
  constructor(readonly entries: [string, JsonValue][] = []) {}

  /** The value of the last pair with this key (Python's dict semantics), or undefined. */
  get(key: string): JsonValue | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i][0] === key) return this.entries[i][1];
    }
    return undefined;
  }

  /** Every value stored under `key`, in order (more than one for tmp/qtailq/gtree fields). */
  getAll(key: string): JsonValue[] {
    return this.entries.filter(([k]) => k === key).map(([, v]) => v);
  }

  /** Whether some pair has this key. */
  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }

  /** Keys that occur more than once, each listed once. */
  duplicateKeys(): string[] {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const [k] of this.entries) (seen.has(k) ? dup : seen).add(k);
    return [...dup];
  }
}

/** Set an own property even for keys like `__proto__`, so hostile names cannot reach prototypes. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  // Only `__proto__` is an accessor on Object.prototype; any other key assigned plainly becomes an
  // own data property in the same place, and keeps the object in V8's fast mode (a
  // defineProperty per key made every decoded struct a dictionary).
  if (key === "__proto__") {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else obj[key] = value;
}

/** Collapse to plain JS values as Python's OrderedDict hook does: first position, last value. */
export function toPython(v: JsonValue): unknown {
  if (v instanceof JsonObject) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of v.entries) setKey(out, k, toPython(val));
    return out;
  }
  if (Array.isArray(v)) return v.map(toPython);
  return v;
}

/**
 * JSON.parse's value of `text` when the careful parser would accept it too (same grammar, nesting
 * within {@link MAX_DEPTH}), else undefined. Its objects keep the last value of a repeated key,
 * as {@link JsonObject.get} does: enough for reading by key, without building pairs.
 */
export function parsePlain(text: string): unknown {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  return nestsWithin(raw, 0) ? raw : undefined;
}

/** Whether `v` nests no deeper than {@link MAX_DEPTH} (counting from `depth`). */
function nestsWithin(v: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (v === null || typeof v !== "object") return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!nestsWithin(v[i], depth + 1)) return false;
    return true;
  }
  for (const key in v) {
    if (!nestsWithin((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** Parse JSON text keeping duplicate keys; errors carry the byte offset plus `baseOffset`. */
export function parseJsonPairs(text: string, baseOffset = 0): JsonValue {
  return parseNative(text) ?? parseJsonPairsCarefully(text, baseOffset);
}

/** Every string token (a key when a colon follows), or a run of anything else, in order. */
const TOKENS = /"(?:[^"\\]|\\.)*"|[^"]+/gy;
/** What each key gets appended (then its serial number), so no two keys are equal. */
const KEY_MARK = "\u0001";

/**
 * Each match runs up to and including the next key (a string a colon follows), the matches
 * aligned one after another from the start: so on valid JSON, the number of matches is the
 * number of keys, counted by the regex engine alone.
 */
const KEYS = /(?:[^"]|"[^"\\]*(?:\\.[^"\\]*)*"(?!\s*:))*"[^"\\]*(?:\\.[^"\\]*)*"\s*:/gy;

/**
 * The fast paths (the vmdesc of a pc guest is ~100 KB, 5,000 keys): the engine's JSON.parse, then
 * {@link JsonObject}s rebuilt from its objects. That is exact when no key repeats (the objects
 * hold as many keys as the text has) and no key looks like an array index (which JSON.parse
 * would move to the front). Otherwise every key is numbered first, so none repeats or moves.
 * Undefined when the text is not valid JSON or nests too deep: then the careful parser gives the
 * same error, with its offset, as ever.
 */
function parseNative(text: string): JsonValue | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const plain = new Rebuild(false);
  const value = plain.value(raw, 0);
  if (value === undefined) return undefined;
  if (!plain.numericKey && plain.keys === (text.match(KEYS)?.length ?? 0)) return value;
  let serial = 0;
  const marked = text.replace(
    TOKENS,
    (tok: string, at: number) =>
      tok.charCodeAt(0) === 0x22 && isKey(text, at + tok.length)
        ? `${tok.slice(0, -1)}\\u0001${serial++}"`
        : tok,
  );
  return new Rebuild(true).value(JSON.parse(marked), 0);
}

/** Whether a colon (after optional JSON whitespace) follows position `at`. */
function isKey(text: string, at: number): boolean {
  let c = text.charCodeAt(at);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++at);
  return c === 0x3a;
}

/** Turns a JSON.parse value into a JsonValue, counting keys; `marked`: strip the key numbers. */
class Rebuild {
  keys = 0;
  /** Whether some key starts with a digit (JSON.parse may have reordered it). */
  numericKey = false;
  constructor(private readonly marked: boolean) {}

  /** The JsonValue of `v`, or undefined past {@link MAX_DEPTH}. */
  value(v: unknown, depth: number): JsonValue | undefined {
    if (depth > MAX_DEPTH) return undefined;
    if (v === null || typeof v !== "object") return v as JsonValue;
    if (Array.isArray(v)) {
      const out: JsonValue[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = this.value(v[i], depth + 1);
        if (x === undefined) return undefined;
        out[i] = x;
      }
      return out;
    }
    const names = Object.keys(v);
    this.keys += names.length;
    const entries: [string, JsonValue][] = new Array(names.length);
    for (let i = 0; i < names.length; i++) {
      const key = names[i];
      const c = key.charCodeAt(0);
      if (c >= 0x30 && c <= 0x39) this.numericKey = true;
      const x = this.value((v as Record<string, unknown>)[key], depth + 1);
      if (x === undefined) return undefined;
      entries[i] = [this.marked ? key.slice(0, key.lastIndexOf(KEY_MARK)) : key, x];
    }
    return new JsonObject(entries);
  }
}

/**
 * The careful parser, character by character with exact error offsets: what errors come from,
 * and the reference the fast paths are tested against.
 */
export function parseJsonPairsCarefully(text: string, baseOffset = 0): JsonValue {
  const p = new Parser(text, baseOffset);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail("Unexpected data after the JSON value");
  return v;
}

/** Deepest nesting the parser accepts (deeper is a format error, not a stack overflow). */
export const MAX_DEPTH = 512;
const encoder = new TextEncoder();

class Parser {
  i = 0;
  constructor(readonly s: string, readonly base: number) {}

  fail(what: string): never {
    const byteOffset = encoder.encode(this.s.slice(0, this.i)).length;
    throw new StreamFormatError(`vmdesc JSON: ${what} at JSON byte ${byteOffset}`, {
      offset: this.base + byteOffset,
    });
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.i++;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail("Nesting too deep");
    const c = this.s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, val] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return val;
      }
    }
    this.fail(
      c === undefined ? "Unexpected end of JSON" : `Unexpected character ${JSON.stringify(c)}`,
    );
  }

  object(depth: number): JsonObject {
    this.i++;
    const obj = new JsonObject();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("Expected a string key");
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ":") this.fail("Expected ':'");
      this.i++;
      this.ws();
      obj.entries.push([key, this.value(depth + 1)]);
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return obj;
      if (c !== ",") {
        this.i--;
        this.fail("Expected ',' or '}'");
      }
    }
  }

  array(depth: number): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return out;
      if (c !== ",") {
        this.i--;
        this.fail("Expected ',' or ']'");
      }
    }
  }

  number(): number {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(
      this.s.slice(this.i, this.i + 400),
    );
    if (!m) this.fail("Malformed number");
    this.i += m[0].length;
    return Number(m[0]);
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = "";
    let run = i;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail("Unterminated string");
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = i;
        this.fail("Control character in string");
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(run, i);
      const e = s[i + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        this.i = i;
        this.fail("Bad escape in string");
      }
      run = i;
    }
    out += s.slice(run, i);
    this.i = i + 1;
    return out;
  }
}
