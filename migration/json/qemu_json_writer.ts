/**
 * A byte-for-byte copy of the behaviour of QEMU's JSONWriter (qobject/json-writer.c) in its
 * non-pretty mode, which produces the vmdesc trailer. Keeping the same call shape
 * (start/end object and array, named members) lets the VMState walker emit the description in
 * exactly QEMU's order, including the duplicate keys QEMU writes for tmp/qtailq/gtree fields.
 * @module
 */

/** Streaming JSON builder with QEMU's separators (", " and ": ") and escaping. */
export class QemuJsonWriter {
  private out: string[] = [];
  private containerIsArray: boolean[] = [];
  private needComma = false;
  private length = 0;

  private push(s: string): void {
    this.out.push(s);
    this.length += s.length;
  }

  private inObject(): boolean {
    return this.containerIsArray.length > 0 &&
      !this.containerIsArray[this.containerIsArray.length - 1];
  }

  private commaName(name: string | null): void {
    if (this.needComma) {
      this.push(", ");
    } else {
      this.needComma = true;
    }
    if (this.inObject()) {
      this.push(quoteQemu(name ?? ""));
      this.push(": ");
    }
  }

  /** Open an object (named when inside an object). */
  startObject(name: string | null = null): void {
    this.commaName(name);
    this.push("{");
    this.containerIsArray.push(false);
    this.needComma = false;
  }

  /** Close the innermost object. */
  endObject(): void {
    this.containerIsArray.pop();
    this.needComma = true;
    this.push("}");
  }

  /** Open an array (named when inside an object). */
  startArray(name: string | null = null): void {
    this.commaName(name);
    this.push("[");
    this.containerIsArray.push(true);
    this.needComma = false;
  }

  /** Close the innermost array. */
  endArray(): void {
    this.containerIsArray.pop();
    this.needComma = true;
    this.push("]");
  }

  /** A string member. */
  str(name: string | null, value: string): void {
    this.commaName(name);
    this.push(quoteQemu(value));
  }

  /** An integer member. */
  int(name: string | null, value: number | bigint): void {
    this.commaName(name);
    this.push(String(value));
  }

  /** A boolean member. */
  bool(name: string | null, value: boolean): void {
    this.commaName(name);
    this.push(value ? "true" : "false");
  }

  /** Current depth of open containers (0 when the document is complete). */
  get depth(): number {
    return this.containerIsArray.length;
  }

  /** The text written so far. */
  toString(): string {
    const s = this.out.join("");
    this.out = [s];
    return s;
  }
}

/** Quote a string as QEMU does: \uXXXX (uppercase) below 0x20 and from 0x7F, surrogates above the BMP. */
export function quoteQemu(s: string): string {
  let r = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        r += '\\"';
        break;
      case "\\":
        r += "\\\\";
        break;
      case "\b":
        r += "\\b";
        break;
      case "\f":
        r += "\\f";
        break;
      case "\n":
        r += "\\n";
        break;
      case "\r":
        r += "\\r";
        break;
      case "\t":
        r += "\\t";
        break;
      default:
        if (cp > 0xffff) {
          r += hex4(0xd800 + ((cp - 0x10000) >> 10)) + hex4(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else if (cp < 0x20 || cp >= 0x7f) {
          r += hex4(cp);
        } else {
          r += ch;
        }
    }
  }
  return r + '"';
}

function hex4(n: number): string {
  return "\\u" + n.toString(16).toUpperCase().padStart(4, "0");
}
