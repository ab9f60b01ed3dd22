/**
 * Byte-by-byte builders for small migration streams, so inspector tests need neither QEMU nor
 * the committed fixtures to exercise every framing path.
 */

const enc = new TextEncoder();

/** Appends big-endian primitives; `at` is the next offset. */
export class Bytes {
  readonly b: number[] = [];
  get at(): number {
    return this.b.length;
  }
  u8(...v: number[]): this {
    this.b.push(...v);
    return this;
  }
  be16(v: number): this {
    return this.u8(v >>> 8 & 0xff, v & 0xff);
  }
  be32(v: number): this {
    return this.u8(v >>> 24 & 0xff, v >>> 16 & 0xff, v >>> 8 & 0xff, v & 0xff);
  }
  be64(v: bigint): this {
    return this.be32(Number(v >> 32n & 0xffffffffn)).be32(Number(v & 0xffffffffn));
  }
  str8(s: string): this {
    const e = enc.encode(s);
    return this.u8(e.length, ...e);
  }
  raw(bytes: Uint8Array | number[]): this {
    for (const x of bytes) this.b.push(x);
    return this;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.b);
  }
}

/** Page size of the synthetic streams. */
export const PAGE = 4096;

/** A page whose bytes are `seed + i` (mod 256). */
export function page(seed: number): Uint8Array {
  return Uint8Array.from({ length: PAGE }, (_, i) => (seed + i) & 0xff);
}

/** The vmdesc the synthetic stream carries (JSON text with a duplicated key, like QEMU's tmp). */
export const DESC_JSON = JSON.stringify({
  page_size: PAGE,
  devices: [{
    name: "dev",
    instance_id: 0,
    vmsd_name: "dev",
    version: 1,
    fields: [
      { name: "neg", type: "int32", size: 4 },
      { name: "flag", type: "bool", size: 1 },
      { name: "arr", array_len: 3, type: "uint16", size: 2 },
      {
        name: "s",
        type: "struct",
        struct: { vmsd_name: "s", version: 1, fields: [{ name: "b", type: "uint8", size: 1 }] },
        size: 1,
      },
      { name: "buf", type: "buffer", size: 3 },
      { name: "t", type: "tmp", size: 2 },
    ],
    subsections: [{
      vmsd_name: "dev/sub",
      version: 2,
      fields: [{ name: "y", type: "uint8 equal", size: 1 }],
    }],
  }],
}).replace('"type":"tmp"', '"type":"tmp","fields":[],"fields":[{"name":"x"}]');

/** What analyze-migration's `-d state` says for {@link buildStream}'s default stream. */
export const EXPECTED_STATE = {
  "ram (2)": {
    "section sizes": { a: "0x0000000000002000", "b/c": "0x0000000000001000" },
  },
  "dev (3)": {
    neg: "0xfffffffe (-2)",
    flag: true,
    arr: ["0x0001", "0x0002", "0xffff"],
    s: { b: "0x07" },
    buf: "aa bb cc",
    t: "12 34",
    "dev/sub": { y: "0xff (-1)" },
  },
};

/** Offsets of interesting items in a built stream. */
export interface Built {
  bytes: Uint8Array;
  ramStart: number;
  ramPart: number;
  dev: number;
  devPayload: number;
  ramEnd: number;
  eof: number;
  vmdesc: number;
}

/** Options for {@link buildStream}. */
export interface BuildOptions {
  vmdesc?: "ok" | "none" | "bad-json" | "bad-length";
  /** Replace the FULL section's type byte (e.g. 0x42 to make an unknown type). */
  devType?: number;
  footers?: boolean;
}

/** A complete stream: header, configuration, RAM START/PART/END, one FULL device, EOF, vmdesc. */
export function buildStream(opts: BuildOptions = {}): Built {
  const footers = opts.footers ?? true;
  const w = new Bytes();
  const foot = (id: number) => footers ? w.u8(0x7e).be32(id) : w;
  w.be32(0x5145564d).be32(3);
  w.u8(0x07).be32(4).raw(enc.encode("virt"));
  const ramStart = w.at;
  w.u8(0x01).be32(2).str8("ram").be32(0).be32(4);
  w.be64(0x3000n | 0x4n).str8("a").be64(0x2000n).str8("b/c").be64(0x1000n).be64(0x10n);
  foot(2);
  const ramPart = w.at;
  w.u8(0x02).be32(2);
  w.be64(0x0n | 0x2n).str8("a").u8(0); // ZERO a@0
  w.be64(0x1000n | 0x28n).raw(page(1)); // PAGE a@0x1000, CONTINUE
  w.be64(0x0n | 0x8n).str8("b/c").raw(page(7)); // PAGE b/c@0
  w.be64(0x10n);
  foot(2);
  const dev = w.at;
  w.u8(opts.devType ?? 0x04).be32(3).str8("dev").be32(0).be32(1);
  const devPayload = w.at;
  w.be32(0xfffffffe).u8(1).be16(1).be16(2).be16(0xffff).u8(7).u8(0xaa, 0xbb, 0xcc).u8(0x12, 0x34);
  w.u8(0x05).str8("dev/sub").be32(2).u8(0xff);
  foot(3);
  const ramEnd = w.at;
  w.u8(0x03).be32(2).be64(0x10n);
  foot(2);
  const eof = w.at;
  w.u8(0x00);
  const vmdesc = w.at;
  const json = enc.encode(
    opts.vmdesc === "bad-json" ? DESC_JSON.replace("devices", "devices\u0001") : DESC_JSON,
  );
  if (opts.vmdesc !== "none") {
    w.u8(0x06).be32(opts.vmdesc === "bad-length" ? json.length + 1000 : json.length).raw(json);
  }
  return { bytes: w.bytes(), ramStart, ramPart, dev, devPayload, ramEnd, eof, vmdesc };
}

/** Path of a committed QEMU 7.2 fixture. */
export function fixture(name: string): string {
  return new URL(`../../fixtures/qemu72/${name}`, import.meta.url).pathname;
}

/** Whether a committed fixture exists (tests skip themselves otherwise). */
export function hasFixture(name: string): boolean {
  try {
    return Deno.statSync(fixture(name)).isFile;
  } catch {
    return false;
  }
}

/** Lowercase hex SHA-256 of bytes. */
export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h, (x) => x.toString(16).padStart(2, "0")).join("");
}
