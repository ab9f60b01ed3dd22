import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import type { StreamLayout } from "../../../migration/inspect/layout.ts";
import { nameInLayout } from "../../../harness/wire/offset_names.ts";
import { SectionTracker } from "../../../harness/wire/section_tracker.ts";
import { demoStream, qemuStream } from "./_streams.ts";

/** Push `bytes` cut at `cuts`, checking after each piece that `parsed` never runs ahead. */
async function track(bytes: Uint8Array, cuts: number[], limit?: number): Promise<SectionTracker> {
  const t = new SectionTracker(limit);
  let at = 0;
  let last = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)]) {
    t.push(bytes.subarray(at, cut));
    at = cut;
    await t.settled();
    ok(t.parsed <= t.size && t.parsed >= last, `parsed ${t.parsed} of ${t.size}`);
    last = t.parsed;
  }
  t.push(bytes.subarray(at));
  t.end();
  await t.finished();
  strictEqual(t.parsed, Infinity);
  return t;
}

function chunkShape(layout: Pick<StreamLayout, "chunks">) {
  return layout.chunks.map((c) => [c.selector, c.offset, c.size, c.payloadOffset]);
}

for (const [name, stream] of [["ours", demoStream], ["QEMU 7.2's", qemuStream]] as const) {
  Deno.test(`SectionTracker follows ${name} stream pushed in any pieces`, async () => {
    const bytes = await stream();
    const layout = await layoutOfBytes(bytes);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: bytes.length }), { maxLength: 12 }),
        fc.array(fc.nat({ max: bytes.length - 1 }), { minLength: 1, maxLength: 8 }),
        async (cuts, probes) => {
          const t = await track(bytes, cuts);
          strictEqual(t.stopped, undefined);
          deepStrictEqual(chunkShape(t), chunkShape(layout));
          ok(t.chunks.every((c) => c.complete));
          strictEqual(t.eofOffset, layout.eofOffset);
          strictEqual(t.vmdesc?.offset, layout.vmdesc?.offset);
          strictEqual(t.vmdesc?.end, bytes.length);
          for (const at of probes) {
            const live = t.name(at);
            const full = nameInLayout(layout, at);
            strictEqual(live.section, full.section, `byte ${at}`);
            strictEqual(live.chunk, full.chunk, `byte ${at}`);
          }
        },
      ),
      { numRuns: 12 },
    );
  });
}

Deno.test("SectionTracker names parts of chunks and the trailer while it learns", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const rtc = layout.chunks.find((c) => c.section === "goldfish_rtc")!;
  const t = new SectionTracker();
  t.push(bytes.subarray(0, rtc.offset + 3));
  await t.settled();
  ok(t.parsed <= rtc.offset, "an incomplete header is not parsed yet");
  ok(!t.chunks.some((c) => c.section === "goldfish_rtc"));
  t.push(bytes.subarray(rtc.offset + 3, rtc.payloadOffset + 2));
  await t.settled();
  const seen = t.chunks.find((c) => c.section === "goldfish_rtc")!;
  strictEqual(seen.offset, rtc.offset);
  strictEqual(seen.complete, false);
  deepStrictEqual(t.name(rtc.payloadOffset + 1), {
    offset: rtc.payloadOffset + 1,
    section: "goldfish_rtc",
    chunk: "goldfish_rtc@full",
    what: "payload",
  });
  strictEqual(t.name(rtc.offset).what, "section header");
  strictEqual(t.name(2).what, "file header");
  strictEqual(t.name(layout.configuration!.offset).what, "configuration");
  strictEqual(t.partialLayout().chunks.length, t.chunks.length);
  t.push(bytes.subarray(rtc.payloadOffset + 2));
  t.end();
  await t.finished();
  strictEqual(t.name(layout.eofOffset!).what, "EOF marker");
  strictEqual(t.name(layout.vmdesc!.jsonOffset).what, "vmdesc trailer");
  strictEqual(t.name(bytes.length + 3).what, "after the vmdesc trailer");
  const ram = t.name(layout.chunks.find((c) => c.selector === "ram@part")!.payloadOffset + 9);
  strictEqual(ram.what, "RAM records");
});

Deno.test("SectionTracker keeps the stream for the full layout, up to its limit", async () => {
  const bytes = await demoStream();
  const kept = await track(bytes, [1000, 50_000]);
  deepStrictEqual(kept.recordedBytes(), bytes);
  const full = await kept.fullLayout();
  ok(full && full.fields.some((f) => f.path === "serial.serial.lsr"));
  const small = await track(bytes, [1000], 4096);
  strictEqual(small.recordedBytes(), undefined);
  strictEqual(await small.fullLayout(), undefined);
  deepStrictEqual(chunkShape(small), chunkShape(full!));
});

Deno.test("SectionTracker stops on bytes it cannot follow, and at a truncation quietly", async () => {
  const garbage = await track(new TextEncoder().encode("not a migration stream at all"), []);
  ok(/not a version 3 migration stream/.test(String(garbage.stopped)), garbage.stopped ?? "");
  const bytes = (await demoStream()).slice();
  const layout = await layoutOfBytes(bytes);
  const serial = layout.chunks.find((c) => c.section === "serial")!;
  const cut = await track(bytes.subarray(0, serial.payloadOffset + 2), [100]);
  strictEqual(cut.stopped, undefined);
  strictEqual(cut.eofOffset, undefined);
  strictEqual(cut.chunks[cut.chunks.length - 1].selector, "serial@full");
  strictEqual(await cut.fullLayout(), undefined);
  const afterRam = layout.chunks[layout.chunks.findIndex((c) => c.selector === "ram@end") + 1];
  bytes[afterRam.offset] = 0x55; // not a section type, where RAM's exact format ends
  const bad = await track(bytes, []);
  ok(/unknown item type 0x55/.test(String(bad.stopped)), bad.stopped ?? "");
});
