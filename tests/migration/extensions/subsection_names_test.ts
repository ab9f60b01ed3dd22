import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { UnknownEntityError } from "../../../migration/errors.ts";
import { subsectionBelongs } from "../../../migration/extensions/subsection_names.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { b, be32, caught, caughtAsync, hex, str8 } from "../_helpers.ts";
import { loadStreamOf, loadWith, registryOf, saveWith, streamOf } from "./_walk.ts";

const flic = F.vmsd({
  name: "qemu-s390-flic",
  fields: [F.uint8("a")],
  subsections: [F.vmsd({ name: "qemu-s390-flic-full", legacyName: true, fields: [F.uint8("x")] })],
});

Deno.test("subsectionBelongs(): plain prefix in QEMU's mode, 'parent/' or a declared legacy name when strict", () => {
  strictEqual(subsectionBelongs(flic, "qemu-s390-flic-full", "prefix"), true);
  strictEqual(subsectionBelongs(flic, "qemu-s390-flic-full", "strict"), true);
  strictEqual(subsectionBelongs(flic, "qemu-s390-flic-other", "prefix"), true);
  strictEqual(subsectionBelongs(flic, "qemu-s390-flic-other", "strict"), false);
  strictEqual(subsectionBelongs(flic, "qemu-s390-flic/x", "strict"), true);
  strictEqual(subsectionBelongs(flic, "other/x", "prefix"), false);
});

// The misattribution: the nested "virtio" is a plain prefix of its parent's subsection name.
const virtio = F.vmsd({ name: "virtio", fields: [F.uint8("status")] });
const blk = F.vmsd({
  name: "virtio-blk",
  fields: [F.struct("vdev", virtio)],
  subsections: [F.vmsd({ name: "virtio-blk/feature", fields: [F.uint8("f")] })],
});
const blkState = () => ({ vdev: { status: 0 }, f: 0 });

Deno.test("the prefix rule hands the parent's subsection to a nested struct; strict mode does not", () => {
  const wire = saveWith(blk, { vdev: { status: 4 }, f: 1 });
  strictEqual(hex(wire), hex(b(4, 0x05, str8("virtio-blk/feature"), be32(1), 1)));
  const e = caught(() => loadWith(blk, wire, blkState()));
  strictEqual(e instanceof UnknownEntityError, true);
  ok(e.message.includes("VM subsection 'virtio-blk/feature' in 'virtio' does not exist"));
  deepStrictEqual(loadWith(blk, wire, blkState(), { subsectionMatch: "strict" }), {
    vdev: { status: 4 },
    f: 1,
  });
});

Deno.test("x-strict-subsections is recorded by the source and used by the destination's loader", async () => {
  const src = registryOf({ vmsd: blk, state: { vdev: { status: 4 }, f: 1 } });
  const plain = await streamOf(src);
  const e = await caughtAsync(loadStreamOf(plain, registryOf({ vmsd: blk, state: blkState() })));
  ok(e.message.includes("in 'virtio' does not exist"), e.message);
  const strict = await streamOf(src, { capabilities: ["x-strict-subsections"] });
  ok(new TextDecoder().decode(strict).includes("x-strict-subsections"));
  const dest = blkState();
  const report = await loadStreamOf(strict, registryOf({ vmsd: blk, state: dest }));
  strictEqual(report.extensions?.strictSubsections, true);
  deepStrictEqual(dest, { vdev: { status: 4 }, f: 1 });
  // A destination can also ask for strict loading of a QEMU stream that did not record it.
  const local = blkState();
  await loadStreamOf(plain, registryOf({ vmsd: blk, state: local }), {
    capabilities: ["x-strict-subsections"],
  });
  deepStrictEqual(local, { vdev: { status: 4 }, f: 1 });
});

Deno.test("strict mode still loads a subsection registered with its legacy name", () => {
  const wire = saveWith(flic, { a: 1, x: 2 });
  deepStrictEqual(loadWith(flic, wire, { a: 0, x: 0 }, { subsectionMatch: "strict" }), {
    a: 1,
    x: 2,
  });
});
