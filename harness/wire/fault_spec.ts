/**
 * Faults on the wire, as words: what the proxy applies to a live stream and what `replay --to`
 * applies to a recorded one. Positions are {@link Position} words (`4096`, `ram@part+100`,
 * `serial.lsr`, `vmdesc+10`).
 *
 *   cut:POS              close the connection after the bytes before POS
 *   stall:POS:MS         stop sending for MS milliseconds (or `2s`, `500ms`) before POS
 *   throttle:RATE        send at most RATE bytes per second (K/M/G suffixes)
 *   chunk:N              send in writes of at most N bytes
 *   flip:POS[:BIT]       flip one bit (of the byte; of the field's value for a field position)
 *   set:POS:BYTE         replace one byte
 *   write:POS:HEX        overwrite bytes from POS
 *   field:PATH=VALUE     rewrite a field in place (encoded from its type, as corrupt does)
 *   drop:POS[:LEN]       leave out LEN bytes, or the whole chunk a chunk position names
 *   dup:POS[:LEN]        send LEN bytes (or the whole chunk) twice
 * @module
 */
import { FaultSpecError } from "./errors.ts";
import { formatPosition, parseOffset, parsePosition, type Position } from "./positions.ts";

/** One fault. */
export type Fault =
  | { kind: "cut"; at: Position }
  | { kind: "stall"; at: Position; ms: number }
  | { kind: "throttle"; rate: number }
  | { kind: "chunk"; size: number }
  | { kind: "flip"; at: Position; bit: number }
  | { kind: "set"; at: Position; value: number }
  | { kind: "write"; at: Position; bytes: Uint8Array }
  | { kind: "field"; path: string; value: string }
  | { kind: "drop"; at: Position; length?: number }
  | { kind: "dup"; at: Position; length?: number };

const RATE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse a rate in bytes per second (`1M`, `512K`, `65536`, `1MiB/s`). */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?$/i.exec(text.trim());
  const v = m ? Math.floor(Number(m[1]) * RATE_UNITS[m[2].toLowerCase()]) : NaN;
  if (!(v > 0) || !Number.isSafeInteger(v)) {
    throw new FaultSpecError(`rate "${text}" is not a positive number of bytes per second`);
  }
  return v;
}

/** Parse a duration in milliseconds (`1500`, `1500ms`, `2s`, `0.5s`). */
export function parseMillis(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(text.trim());
  if (!m) throw new FaultSpecError(`duration "${text}" is not MS, NNms or NNs`);
  return Math.round(Number(m[1]) * (m[2]?.toLowerCase() === "s" ? 1000 : 1));
}

function hexBytes(text: string): Uint8Array {
  const h = text.trim().replace(/^0x/i, "").replace(/[\s_]/g, "");
  if (!h || !/^([0-9a-f]{2})+$/i.test(h)) {
    throw new FaultSpecError(`"${text}" is not hex bytes (e.g. deadbeef)`);
  }
  return Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
}

/** Parse one fault word. */
export function parseFault(word: string): Fault {
  try {
    return parse(word);
  } catch (e) {
    if (e instanceof FaultSpecError && e.spec === undefined) {
      throw new FaultSpecError(e.message, word);
    }
    throw e;
  }
}

function parse(word: string): Fault {
  if (word.startsWith("field:")) {
    const eq = word.indexOf("=");
    if (eq < 7) throw new FaultSpecError("use field:PATH=VALUE");
    return { kind: "field", path: word.slice(6, eq), value: word.slice(eq + 1) };
  }
  const [name, ...a] = word.split(":");
  const need = (min: number, max = min) => {
    if (a.length < min || a.length > max) {
      throw new FaultSpecError(
        `${name} takes ${min === max ? min : `${min} to ${max}`} argument(s)`,
      );
    }
  };
  switch (name) {
    case "cut":
      need(1);
      return { kind: "cut", at: parsePosition(a[0]) };
    case "stall":
      need(2);
      return { kind: "stall", at: parsePosition(a[0]), ms: parseMillis(a[1]) };
    case "throttle":
      need(1);
      return { kind: "throttle", rate: parseRate(a[0]) };
    case "chunk": {
      need(1);
      const size = parseOffset(a[0], "chunk size");
      if (size < 1) throw new FaultSpecError("chunk size must be at least 1");
      return { kind: "chunk", size };
    }
    case "flip": {
      need(1, 2);
      const at = parsePosition(a[0]);
      const bit = a[1] === undefined ? 0 : parseOffset(a[1], "bit");
      if (bit > 7 && at.kind !== "field") throw new FaultSpecError(`bit ${bit} is not 0..7`);
      return { kind: "flip", at, bit };
    }
    case "set": {
      need(2);
      const value = parseOffset(a[1], "byte value");
      if (value > 255) throw new FaultSpecError(`byte value ${a[1]} is not 0..255`);
      return { kind: "set", at: parsePosition(a[0]), value };
    }
    case "write":
      need(2);
      return { kind: "write", at: parsePosition(a[0]), bytes: hexBytes(a[1]) };
    case "drop":
    case "dup": {
      need(1, 2);
      const at = parsePosition(a[0]);
      if (a[1] === undefined) {
        if (at.kind !== "chunk" || at.plus) {
          throw new FaultSpecError(`${name} without LEN needs a chunk (ram@part2, serial)`);
        }
        return { kind: name, at };
      }
      const length = parseOffset(a[1], "length");
      if (length < 1) throw new FaultSpecError("length must be at least 1");
      return { kind: name, at, length };
    }
    default:
      throw new FaultSpecError(
        "unknown fault: use cut, stall, throttle, chunk, flip, set, write, field, drop or dup",
      );
  }
}

/** The fault back as its word. */
export function formatFault(f: Fault): string {
  switch (f.kind) {
    case "cut":
      return `cut:${formatPosition(f.at)}`;
    case "stall":
      return `stall:${formatPosition(f.at)}:${f.ms}ms`;
    case "throttle":
      return `throttle:${f.rate}`;
    case "chunk":
      return `chunk:${f.size}`;
    case "flip":
      return `flip:${formatPosition(f.at)}:${f.bit}`;
    case "set":
      return `set:${formatPosition(f.at)}:0x${f.value.toString(16)}`;
    case "write":
      return `write:${formatPosition(f.at)}:${
        Array.from(f.bytes, (b) => b.toString(16).padStart(2, "0")).join("")
      }`;
    case "field":
      return `field:${f.path}=${f.value}`;
    case "drop":
    case "dup":
      return `${f.kind}:${formatPosition(f.at)}${f.length === undefined ? "" : `:${f.length}`}`;
  }
}
