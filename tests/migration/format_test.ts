/** The one value formatter: the same value reads the same in the shell, diffs and the inspector. */
import { strictEqual } from "node:assert/strict";
import { formatBytes, formatValue, hex, hexBytes, isScalarArray } from "../../migration/format.ts";

Deno.test("formatValue() writes small integers in decimal, larger ones in hex", () => {
  strictEqual(formatValue(0), "0");
  strictEqual(formatValue(9), "9");
  strictEqual(formatValue(10), "0xa");
  strictEqual(formatValue(-1), "-1");
  strictEqual(formatValue(0xffff_ffff), "0xffffffff");
  strictEqual(formatValue(2n ** 64n - 1n), "0xffffffffffffffff");
  strictEqual(formatValue(3n), "3");
  strictEqual(formatValue(1.5), "1.5");
});

Deno.test("formatValue() shows absent values, buffers, arrays and records readably", () => {
  strictEqual(formatValue(undefined), "(absent)");
  strictEqual(formatValue(null), "null");
  strictEqual(formatValue(true), "true");
  strictEqual(formatValue(new Uint8Array([0, 0x1f])), "00 1f (2 bytes, 1 non-zero)");
  strictEqual(
    formatValue(new Uint8Array(40), 4),
    "00 00 00 00 00 00 00 00 … (40 bytes, 0 non-zero)",
  );
  strictEqual(formatValue([1, 20, 3n], 2), "[1, 0x14, … (3)]");
  strictEqual(formatValue([{ a: 1 }]), "list(1)");
  strictEqual(formatValue(new Map([[1, 2]])), "Map(1)");
  strictEqual(formatValue({ a: 1n }), '{"a":"1"}');
});

Deno.test("hex(), hexBytes(), formatBytes() and isScalarArray()", () => {
  strictEqual(hex(0x1f), "0x1f");
  strictEqual(hex(0x1fn, 4), "0x001f");
  strictEqual(hexBytes(new Uint8Array([1, 0xab])), "01 ab");
  strictEqual(formatBytes(512), "512 B");
  strictEqual(formatBytes(16 << 20), "16.0 MiB");
  strictEqual(isScalarArray(new Uint32Array(2)), true);
  strictEqual(isScalarArray([1, "x"]), false);
});
