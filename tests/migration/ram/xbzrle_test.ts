import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { xbzrleDecode, xbzrleEncode } from "../../../migration/ram/xbzrle.ts";

const PAGE = 4096;

function page(seed: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  let x = seed;
  for (let i = 0; i < PAGE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    p[i] = x >>> 24;
  }
  return p;
}

Deno.test("xbzrleEncode writes QEMU's zrun/nzrun runs with ULEB128 lengths", () => {
  const old = new Uint8Array(PAGE);
  const cur = old.slice();
  cur[4] = 0xaa;
  cur[5] = 0xbb;
  cur[200] = 0xcc; // a zero run of 194 needs two ULEB128 bytes
  const dst = new Uint8Array(PAGE);
  const n = xbzrleEncode(old, cur, dst);
  // zrun 4, nzrun 2 [aa bb], zrun 194 (0xc2 0x01), nzrun 1 [cc]; the trailing zero run is left out
  deepStrictEqual([...dst.subarray(0, n)], [4, 2, 0xaa, 0xbb, 0xc2, 0x01, 1, 0xcc]);
});

Deno.test("xbzrleEncode: 0 for an equal page, -1 when the delta would not fit, leading change", () => {
  const a = page(1);
  strictEqual(xbzrleEncode(a, a.slice(), new Uint8Array(PAGE)), 0);
  // Every other byte changed: runs of 1 cost 3 bytes per 2 page bytes, more than a page.
  const b = a.slice();
  for (let i = 0; i < PAGE; i += 2) b[i] ^= 0xff;
  strictEqual(xbzrleEncode(a, b, new Uint8Array(PAGE)), -1);
  const c = a.slice();
  c[0] ^= 1;
  const dst = new Uint8Array(PAGE);
  const n = xbzrleEncode(a, c, dst);
  deepStrictEqual([...dst.subarray(0, n)], [0, 1, c[0]], "a first zero run of 0 is written");
});

Deno.test("xbzrleDecode(xbzrleEncode) restores the page for many random edits", () => {
  for (let seed = 1; seed < 200; seed++) {
    const old = page(seed);
    const cur = old.slice();
    const edits = seed % 40;
    for (let k = 0; k < edits; k++) {
      const at = (seed * 7919 + k * 104729) % PAGE;
      const len = 1 + ((seed + k) % 50);
      for (let i = at; i < Math.min(PAGE, at + len); i++) cur[i] ^= 0x5a;
    }
    const dst = new Uint8Array(PAGE);
    const n = xbzrleEncode(old, cur, dst);
    if (n <= 0) {
      ok(n === 0 ? edits === 0 : true);
      continue;
    }
    const back = old.slice();
    strictEqual(xbzrleDecode(dst.subarray(0, n), back), null);
    deepStrictEqual(back, cur);
  }
});

Deno.test("xbzrleDecode names each fault QEMU's decoder refuses, with where it starts", () => {
  const p = new Uint8Array(PAGE);
  deepStrictEqual(xbzrleDecode(Uint8Array.of(5), p)?.at, 0, "ends inside a zero run");
  ok(/ends inside a data run/.test(xbzrleDecode(Uint8Array.of(5, 1), p)!.reason));
  ok(/empty data run/.test(xbzrleDecode(Uint8Array.of(5, 0, 1), p)!.reason));
  ok(
    /empty zero run after the first/.test(xbzrleDecode(Uint8Array.of(0, 1, 9, 0, 1, 9), p)!.reason),
  );
  // zero run 0x1000 (a whole page) then a data run: past the page
  const past = xbzrleDecode(Uint8Array.of(0x80, 0x20, 1, 7), p)!;
  ok(/data run of 1 bytes runs past the 4096-byte page/.test(past.reason), past.reason);
  strictEqual(past.at, 2);
  const over = xbzrleDecode(Uint8Array.of(0x81, 0x20, 1, 7), p)!;
  ok(/zero run of 4097 bytes runs past/.test(over.reason), over.reason);
  strictEqual(over.at, 0);
  const long = xbzrleDecode(Uint8Array.of(2, 10, 1, 2, 3), p)!;
  ok(/data run of 10 bytes runs past the end of the delta/.test(long.reason));
  strictEqual(long.at, 1);
  ok(/over 14 bits/.test(xbzrleDecode(Uint8Array.of(0x81, 0x81, 1, 1), p)!.reason));
});
