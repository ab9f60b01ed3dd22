import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import {
  chunkAt,
  describeOffset,
  lastAtOrBefore,
  nameInLayout,
} from "../../../harness/wire/offset_names.ts";
import { demoStream } from "./_streams.ts";

Deno.test("lastAtOrBefore() agrees with a linear search", () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.nat({ max: 1000 })).map((a) => a.sort((x, y) => x - y)),
    fc.integer({ min: -5, max: 1005 }),
    (offsets, at) => {
      const list = offsets.map((offset) => ({ offset }));
      let want = -1;
      list.forEach((e, i) => {
        if (e.offset <= at) want = i;
      });
      strictEqual(lastAtOrBefore(list, at), want);
    },
  ));
});

Deno.test("nameInLayout() names every byte by its chunk and labelled range", async () => {
  const layout = await layoutOfBytes(await demoStream());
  for (const r of layout.ranges) {
    for (const at of [r.offset, r.offset + r.size - 1]) {
      const n = nameInLayout(layout, at);
      const c = chunkAt(layout.chunks, at);
      strictEqual(n.section, c?.section, `byte ${at}`);
      strictEqual(n.chunk, c?.selector);
      if (r.kind === "field") strictEqual(n.field, r.label);
    }
  }
  const lsr = layout.fields.find((f) => f.path === "serial.serial.lsr")!;
  deepStrictEqual(nameInLayout(layout, lsr.offset), {
    offset: lsr.offset,
    section: "serial",
    chunk: "serial@full",
    field: "serial.serial.lsr",
    what: "field serial.serial.lsr",
  });
  strictEqual(
    describeOffset(nameInLayout(layout, lsr.offset)),
    `byte ${lsr.offset} (0x${lsr.offset.toString(16)}), section "serial" (serial@full), ` +
      "field serial.serial.lsr",
  );
  strictEqual(nameInLayout(layout, 0).what, "file header (magic)");
  strictEqual(nameInLayout(layout, layout.eofOffset!).what, "EOF marker");
  strictEqual(nameInLayout(layout, layout.vmdesc!.jsonOffset).what, "vmdesc trailer (vmdesc JSON)");
  strictEqual(
    nameInLayout(layout, layout.size).what,
    `the end of the stream (${layout.size} bytes)`,
  );
  const part = layout.chunks.find((c) => c.selector === "ram@part")!;
  strictEqual(nameInLayout(layout, part.payloadOffset).what.startsWith("RAM "), true);
});
