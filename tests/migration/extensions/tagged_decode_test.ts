import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { MigrationError, StreamFormatError } from "../../../migration/errors.ts";
import {
  decodeTaggedDescription,
  decodeTaggedStream,
  renderTaggedStream,
} from "../../../migration/extensions/tagged_decode.ts";
import { TaggedSaver } from "../../../migration/extensions/tagged_save.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { caughtAsync } from "../_helpers.ts";

const el = F.vmsd({ name: "el", fields: [F.int16("x")] });
const dev = F.vmsd({
  name: "dev",
  versionId: 4,
  fields: [
    F.uint32("a"),
    F.array("r", I.vmstateUint8, 3),
    F.buffer("blob", 20),
    F.pointerArray("q", el, { num: 2 }),
    F.bool("on"),
  ],
  subsections: [F.vmsd({ name: "dev/s", fields: [F.uint64("big")] })],
});

Deno.test("decodeTaggedDescription() rebuilds names, kinds and values without the description", () => {
  const w = new StreamWriter();
  new TaggedSaver(w).save(dev, {
    a: 0xdead,
    r: [1, 2, 3],
    blob: new Uint8Array(20).fill(0xab),
    q: [null, { x: -3 }],
    on: true,
    big: 5n,
  });
  const node = decodeTaggedDescription(StreamReader.fromBytes(w.take()));
  strictEqual(node.name, "dev");
  strictEqual(node.version, 4);
  deepStrictEqual(node.fields.map((f) => [f.field, f.kind]), [
    ["a", "unsigned"],
    ["r", "unsigned"],
    ["blob", "bytes"],
    ["q", "pointer"],
    ["on", "bool"],
  ]);
  deepStrictEqual(node.fields[0].values, [0xdead]);
  deepStrictEqual(node.fields[1].values, [1, 2, 3]);
  ok(String(node.fields[2].values[0]).endsWith("... (20 bytes)"));
  strictEqual(node.fields[3].values[0], null);
  const slot = node.fields[3].values[1] as { name: string; fields: { values: unknown[] }[] };
  deepStrictEqual([slot.name, slot.fields[0].values], ["el", [-3]]);
  deepStrictEqual(node.subsections.map((s) => [s.name, s.fields[0].values[0]]), [["dev/s", 5n]]);
});

Deno.test("decodeTaggedStream() walks a whole self-describing machine stream, RAM included", async () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const w = new StreamWriter();
  await m.save(w, { capabilities: ["x-self-describing", "x-vendor-versions"] });
  const decoded = await decodeTaggedStream(StreamReader.fromBytes(w.take()));
  const names = decoded.sections.map((s) => s.idstr);
  ok(names.includes("ram") && names.includes("serial") && names.includes("snapshell-nvme"));
  const serial = decoded.sections.find((s) => s.idstr === "serial")!;
  deepStrictEqual(serial.vendor, []);
  const lines = renderTaggedStream(decoded);
  ok(lines[0].includes("x-vendor-versions, x-self-describing"), lines[0]);
  ok(lines.includes("serial v3: serial v3"), lines.join("\n"));
  ok(lines.some((l) => /^\s+lsr = 0x60$/.test(l)), "the UART's LSR shown from its kind alone");
});

Deno.test("decodeTaggedStream() refuses a stream that is not self-describing", async () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const w = new StreamWriter();
  await m.save(w);
  const e = await caughtAsync(decodeTaggedStream(StreamReader.fromBytes(w.take())));
  strictEqual(e instanceof StreamFormatError, true);
  ok(e.message.includes("not self-describing"));
});

Deno.test("decodeTaggedDescription() of damaged bytes throws a MigrationError, never anything else", () => {
  const w = new StreamWriter();
  new TaggedSaver(w).save(dev, {
    a: 1,
    r: [1, 2, 3],
    blob: new Uint8Array(20),
    q: [{ x: 1 }, null],
    on: false,
    big: 0n,
  });
  const good = w.take();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: good.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (at, v) => {
        const bad = good.slice();
        bad[at] = v;
        try {
          decodeTaggedDescription(StreamReader.fromBytes(bad));
        } catch (e) {
          ok(e instanceof MigrationError, String(e));
        }
      },
    ),
    { numRuns: 300 },
  );
});
