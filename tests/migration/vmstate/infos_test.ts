/** The standard VMStateInfo codecs, called directly: names, zero values and edge encodings. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { StateValidationError } from "../../../migration/errors.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { ElementContext, VmStateInfo } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";
import { b, hex } from "../_helpers.ts";

function ctx(info: VmStateInfo, size = info.size): ElementContext {
  return {
    field: F.array("f", info, 1),
    size,
    version: 1,
    opaque: {},
    nested: { save() {}, load() {}, create: () => ({}) },
  };
}

function put(info: VmStateInfo, v: unknown, size?: number): string {
  const w = new StreamWriter();
  info.put(w, v, ctx(info, size));
  return hex(w.take());
}

Deno.test("STANDARD_INFOS carries QEMU's vmdesc type names", () => {
  deepStrictEqual([...I.STANDARD_INFOS.keys()].sort(), [
    "CPU_Double_U",
    "bitmap",
    "bool",
    "buffer",
    "capability",
    "float64",
    "gtree",
    "int16",
    "int32",
    "int32 equal",
    "int32 le",
    "int64",
    "int64 equal",
    "int8",
    "qlist",
    "qtailq",
    "timer",
    "tmp",
    "uint16",
    "uint16 equal",
    "uint32",
    "uint32 equal",
    "uint64",
    "uint8",
    "uint8 equal",
    "unused_buffer",
  ]);
});

Deno.test("integer infos wrap out-of-range numbers to their width and accept bigints and booleans", () => {
  strictEqual(put(I.vmstateUint8, 0x1ff), "ff");
  strictEqual(put(I.vmstateUint16, -1), "ff ff");
  strictEqual(put(I.vmstateInt32, 0xffffffff), "ff ff ff ff");
  strictEqual(put(I.vmstateUint32, 5n), "00 00 00 05");
  strictEqual(put(I.vmstateUint8, true), "01");
  strictEqual(put(I.vmstateUint64, -1), "ff ff ff ff ff ff ff ff");
  strictEqual(put(I.vmstateInt64, 3), "00 00 00 00 00 00 00 03");
});

Deno.test("equal infos compare at their width and keep the local value", () => {
  const r = StreamReader.fromBytes(b(0xff, 0xff, 0xff, 0xff));
  strictEqual(I.vmstateUint32Equal.get(r, -1, ctx(I.vmstateUint32Equal)), -1);
  const r64 = StreamReader.fromBytes(b(Array(8).fill(0xff)));
  strictEqual(I.vmstateUint64Equal.get(r64, -1n, ctx(I.vmstateUint64Equal)), -1n);
  const bad = StreamReader.fromBytes(b(0x12));
  throws(
    () => I.vmstateUint8Equal.get(bad, 0x13, ctx(I.vmstateUint8Equal)),
    (e) => e instanceof StateValidationError && e.message === "Value 12 in the stream != local 13",
  );
});

Deno.test("CPU_Double_U keeps the bits of a NaN payload", () => {
  const bits = b(0x7f, 0xf0, 0, 0, 0, 0, 0, 0x01);
  const v = I.vmstateCpuDouble.get(StreamReader.fromBytes(bits), 0, ctx(I.vmstateCpuDouble));
  strictEqual(put(I.vmstateCpuDouble, v), hex(bits));
});

Deno.test("zero values match what QEMU's zeroed memory means for each info", () => {
  strictEqual(I.vmstateBool.zero(1), false);
  strictEqual(I.vmstateUint64.zero(8), 0n);
  strictEqual(I.vmstateTimer.zero(8), -1n);
  deepStrictEqual(I.vmstateBuffer.zero(3), new Uint8Array(3));
  deepStrictEqual(I.vmstateBitmap.zero(65), new Uint8Array(9));
  deepStrictEqual(I.vmstateGtree.zero(0), new Map());
  deepStrictEqual(I.vmstateQtailq.zero(0), []);
});

Deno.test("capability is a counted string", () => {
  strictEqual(put(I.vmstateCapability, "mapped-ram"), hex(b(10, "mapped-ram")));
  strictEqual(
    I.vmstateCapability.get(StreamReader.fromBytes(b(2, "ab")), "", ctx(I.vmstateCapability)),
    "ab",
  );
});

Deno.test("bitmap of a bit count that is not a multiple of 64 still sends whole words", () => {
  strictEqual(put(I.vmstateBitmap, b(0xff), 3), "00 00 00 00 00 00 00 ff");
  strictEqual(put(I.vmstateBitmap, new Uint8Array(0), 0), "");
  const out = I.vmstateBitmap.get(
    StreamReader.fromBytes(b(0, 0, 0, 0, 0, 0, 0x01, 0x80)),
    undefined,
    ctx(I.vmstateBitmap, 16),
  );
  deepStrictEqual(out, b(0x80, 0x01));
});
