import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadWalkOptions } from "../../../migration/extensions/layers.ts";
import { FooterError, type MigrationError, UnknownEntityError } from "../../../migration/errors.ts";
import {
  LayoutMismatchError,
  MarkerError,
  readEnd,
  readStart,
  skipBracketed,
  VMSD_MARKER_BYTES,
  writeBracketed,
} from "../../../migration/extensions/vmsd_markers.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { b, be32, caught, caughtAsync, hex, str8 } from "../_helpers.ts";
import { loadStreamOf, loadWith, registryOf, saveWith, streamOf } from "./_walk.ts";

const markers = { vmsdMarkers: true };

const dev = F.vmsd({
  name: "dev",
  fields: [F.uint8("a"), F.uint16("b")],
  subsections: [F.vmsd({ name: "dev/s", needed: (s) => s.c !== 0, fields: [F.uint8("c")] })],
});

Deno.test("writeBracketed() and readStart()/readEnd() frame a payload as 7b len payload 7d", () => {
  const w = new StreamWriter();
  writeBracketed(w, b(1, 2));
  const bytes = w.take();
  strictEqual(hex(bytes), hex(b(0x7b, be32(2), 1, 2, 0x7d)));
  strictEqual(bytes.length, 2 + VMSD_MARKER_BYTES);
  const r = StreamReader.fromBytes(bytes);
  const end = readStart(r, "x v1");
  strictEqual(end, 7);
  r.skip(2);
  readEnd(r, "x v1", end);
  strictEqual(r.offset, bytes.length);
  strictEqual(skipBracketed(StreamReader.fromBytes(bytes), "x v1"), bytes.length);
});

Deno.test("x-vmsd-markers brackets every description, subsection and nested struct", () => {
  strictEqual(
    hex(saveWith(dev, { a: 0xaa, b: 0xbbcc, c: 0 }, markers)),
    hex(b(0x7b, be32(3), 0xaa, 0xbb, 0xcc, 0x7d)),
  );
  const sub = b(0x05, str8("dev/s"), be32(1), 0x7b, be32(1), 0x11, 0x7d);
  strictEqual(
    hex(saveWith(dev, { a: 0xaa, b: 0xbbcc, c: 0x11 }, markers)),
    hex(b(0x7b, be32(3 + sub.length), 0xaa, 0xbb, 0xcc, sub, 0x7d)),
  );
  const inner = F.vmsd({ name: "in", fields: [F.uint8("x")] });
  const outer = F.vmsd({ name: "out", fields: [F.struct("s", inner)] });
  strictEqual(
    hex(saveWith(outer, { s: { x: 9 } }, markers)),
    hex(b(0x7b, be32(7), 0x7b, be32(1), 9, 0x7d, 0x7d)),
  );
  deepStrictEqual(
    loadWith(dev, saveWith(dev, { a: 1, b: 2, c: 3 }, markers), { a: 0, b: 0, c: 0 }, markers),
    { a: 1, b: 2, c: 3 },
  );
});

const serialSrc = F.vmsd({
  name: "serial",
  versionId: 3,
  fields: [F.uint8("lsr"), F.uint16("extra")],
});
const serialDest = F.vmsd({ name: "serial", versionId: 3, fields: [F.uint8("lsr")] });

Deno.test("the source has fields this side does not know: said at the end marker, with the count", () => {
  const wire = saveWith(serialSrc, { lsr: 0x60, extra: 7 }, markers);
  const e = caught(() => loadWith(serialDest, wire, { lsr: 0 }, markers)) as MigrationError;
  strictEqual(e instanceof LayoutMismatchError, true);
  strictEqual(e.kind, "incompatible");
  strictEqual(
    e.reason,
    "serial v3: 2 bytes before the end marker: the source has fields this side does not know",
  );
  strictEqual(e.offset, 6);
});

Deno.test("the source has fewer fields than this side: the field that crossed the end is named", () => {
  // What follows the description in a section: its footer.
  const wire = b(saveWith(serialDest, { lsr: 0x60 }, markers), 0x7e, be32(0));
  const e = caught(() =>
    loadState(
      StreamReader.fromBytes(wire),
      serialSrc,
      { lsr: 0, extra: 0 },
      3,
      loadWalkOptions(markers),
    )
  ) as MigrationError;
  strictEqual(e instanceof LayoutMismatchError, true);
  strictEqual(
    e.reason,
    'serial v3: field "extra" reads 2 bytes past the end marker: the source has fewer fields than this side expects',
  );
  strictEqual(e.path, "serial.extra");
  strictEqual(e.offset, 6);
  const cut = saveWith(serialDest, { lsr: 0x60 }, markers);
  const t = caught(() => loadWith(serialSrc, cut, { lsr: 0, extra: 0 }, markers));
  ok(t.message.includes('field "extra" reads past the end marker'), t.message);
});

Deno.test("in a whole stream, QEMU's encoding only finds a missing footer; markers say why", async () => {
  const src = registryOf({ vmsd: serialSrc, state: { lsr: 0x60, extra: 7 } });
  const plain = await streamOf(src);
  const e1 = await caughtAsync(
    loadStreamOf(plain, registryOf({ vmsd: serialDest, state: { lsr: 0 } })),
  );
  strictEqual(e1 instanceof FooterError, true);
  ok(e1.message.includes("Missing section footer for serial"));
  const marked = await streamOf(src, { capabilities: ["x-vmsd-markers"] });
  const e2 = await caughtAsync(
    loadStreamOf(marked, registryOf({ vmsd: serialDest, state: { lsr: 0 } })),
  ) as MigrationError;
  strictEqual(e2 instanceof LayoutMismatchError, true);
  strictEqual(e2.section, "serial");
  ok(e2.message.startsWith("serial v3: 2 bytes before the end marker"), e2.message);
});

const withExtra = F.vmsd({
  name: "dev",
  fields: [F.uint8("a")],
  subsections: [F.vmsd({ name: "dev/downstream", fields: [F.uint32("d")] })],
});
const withoutExtra = F.vmsd({ name: "dev", fields: [F.uint8("a")] });

Deno.test("an unknown subsection is skipped when allowed, and fails as in QEMU otherwise", () => {
  const wire = saveWith(withExtra, { a: 1, d: 2 }, markers);
  const notes: string[] = [];
  deepStrictEqual(
    loadWith(withoutExtra, wire, { a: 0 }, {
      ...markers,
      skipUnknownSubsections: true,
      onNote: (n) => notes.push(n),
    }),
    { a: 1 },
  );
  deepStrictEqual(notes, [
    "skipped subsection 'dev/downstream' v1 of 'dev' (30 bytes at byte 6): this side does not know it",
  ]);
  const e = caught(() => loadWith(withoutExtra, wire, { a: 0 }, markers));
  strictEqual(e instanceof UnknownEntityError, true);
  strictEqual(e.message.includes("VM subsection 'dev/downstream' in 'dev' does not exist"), true);
  const plain = caught(() =>
    loadWith(withoutExtra, saveWith(withExtra, { a: 1, d: 2 }), { a: 0 }, {
      skipUnknownSubsections: true,
    })
  );
  ok(plain.message.includes("cannot be skipped"), plain.message);
});

Deno.test("the downstream-only subsection case, end to end: a local policy over a recorded capability", async () => {
  const src = registryOf({ vmsd: withExtra, state: { a: 5, d: 9 } });
  const bytes = await streamOf(src, { capabilities: ["x-vmsd-markers"] });
  const state = { a: 0 };
  const report = await loadStreamOf(bytes, registryOf({ vmsd: withoutExtra, state }), {
    capabilities: ["x-skip-unknown-subsections"],
  });
  strictEqual(state.a, 5);
  strictEqual(report.notes?.length, 1);
  ok(report.notes![0].startsWith("dev: skipped subsection 'dev/downstream'"), report.notes![0]);
});

Deno.test("with markers, subsections belong to their level: a prefix-named inner struct cannot claim them", () => {
  const virtio = F.vmsd({ name: "virtio", fields: [F.uint8("status")] });
  const blk = F.vmsd({
    name: "virtio-blk",
    fields: [F.struct("vdev", virtio)],
    subsections: [F.vmsd({ name: "virtio-blk/feature", fields: [F.uint8("f")] })],
  });
  const state = { vdev: { status: 4 }, f: 1 };
  const plain = caught(() => loadWith(blk, saveWith(blk, state), { vdev: { status: 0 }, f: 0 }));
  ok(plain.message.includes("VM subsection 'virtio-blk/feature' in 'virtio' does not exist"));
  deepStrictEqual(
    loadWith(blk, saveWith(blk, state, markers), { vdev: { status: 0 }, f: 0 }, markers),
    state,
  );
});

Deno.test("extra field bytes that start with 0x05 are not taken for a subsection", () => {
  const src = F.vmsd({ name: "dev", fields: [F.uint8("a"), F.uint8("x"), F.uint8("y")] });
  const wire = saveWith(src, { a: 1, x: 5, y: 2 }, markers);
  const e = caught(() => loadWith(withoutExtra, wire, { a: 0 }, markers));
  strictEqual(
    (e as MigrationError).reason,
    "dev v1: 2 bytes before the end marker: the source has fields this side does not know",
  );
});

Deno.test("damaged markers are corrupt-stream errors", () => {
  const wire = saveWith(withoutExtra, { a: 1 }, markers);
  const start = wire.slice();
  start[0] = 0x7c;
  const e1 = caught(() => loadWith(withoutExtra, start, { a: 0 }, markers)) as MigrationError;
  strictEqual(e1 instanceof MarkerError, true);
  strictEqual(e1.kind, "corrupt");
  ok(e1.message.includes("expected the start marker 0x7b, found 0x7c"));
  const end = wire.slice();
  end[end.length - 1] = 0;
  const e2 = caught(() => loadWith(withoutExtra, end, { a: 0 }, markers));
  ok(e2.message.includes("expected the end marker 0x7d, found 0x0"), e2.message);
  const long = wire.slice();
  long[4] = 200;
  const e3 = caught(() => loadWith(withoutExtra, long, { a: 0 }, markers)) as MigrationError;
  strictEqual(e3.kind, "corrupt");
  // A nested description may not claim bytes beyond its parent's end marker.
  const inner = F.vmsd({ name: "in", fields: [F.uint8("x")] });
  const outer = F.vmsd({ name: "out", fields: [F.struct("s", inner)] });
  const nested = saveWith(outer, { s: { x: 9 } }, markers);
  nested[9] = 2;
  const e4 = caught(() => loadWith(outer, nested, { s: { x: 0 } }, markers)) as MigrationError;
  strictEqual(e4 instanceof MarkerError, true);
  ok(e4.message.includes("in v1: its length 2 runs past the end marker"), e4.message);
});
