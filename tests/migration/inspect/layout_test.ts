import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { bytesInput, inspect } from "../../../migration/inspect/mod.ts";
import { buildLayout } from "../../../migration/inspect/layout.ts";
import { buildStream } from "./_stream.ts";

async function layoutOf(bytes: Uint8Array) {
  return await buildLayout(await inspect(bytesInput(bytes)), bytesAccess(bytes));
}

Deno.test("chunks know where their header parts, payload and footer are", async () => {
  const s = buildStream();
  const l = await layoutOf(s.bytes);
  deepStrictEqual(l.chunks.map((c) => c.selector), [
    "ram@start",
    "ram@part",
    "dev@full",
    "ram@end",
  ]);
  const dev = l.chunks[2];
  strictEqual(dev.offset, s.dev);
  strictEqual(dev.nameOffset, s.dev + 5);
  strictEqual(dev.instanceOffset, s.dev + 6 + 3);
  strictEqual(dev.versionOffset, s.dev + 6 + 3 + 4);
  strictEqual(dev.payloadOffset, s.devPayload);
  strictEqual(s.bytes[dev.footerOffset!], 0x7e);
  strictEqual(l.chunks[1].nameOffset, undefined, "PART chunks have no idstr");
  strictEqual(l.eofOffset, s.eof);
  strictEqual(l.vmdesc?.offset, s.vmdesc);
});

Deno.test("fields get canonical paths: structs, array elements, subsections", async () => {
  const s = buildStream();
  const l = await layoutOf(s.bytes);
  deepStrictEqual(l.fields.map((f) => f.path), [
    "dev.neg",
    "dev.flag",
    "dev.arr[0]",
    "dev.arr[1]",
    "dev.arr[2]",
    "dev.s.b",
    "dev.buf",
    "dev.t",
    "dev/sub.y",
  ]);
  strictEqual(l.fields[0].offset, s.devPayload);
  deepStrictEqual(l.subsections.map((x) => [x.path, x.name, x.version, x.size]), [[
    "dev/sub",
    "dev/sub",
    2,
    2 + 7 + 4 + 1,
  ]]);
});

Deno.test("labelled ranges cover every byte exactly once, in order", async () => {
  for (const opts of [{}, { vmdesc: "none" as const }, { footers: false }]) {
    const s = buildStream(opts);
    const l = await layoutOf(s.bytes);
    let at = 0;
    for (const r of l.ranges) {
      strictEqual(r.offset, at, JSON.stringify(r));
      ok(r.size > 0);
      at += r.size;
    }
    strictEqual(at, s.bytes.length);
  }
});

Deno.test("RAM records are part of the layout; a cut stream leaves an undecoded tail", async () => {
  const s = buildStream();
  const l = await layoutOf(s.bytes);
  ok(l.ranges.some((r) => r.kind === "ram" && /"b\/c" page 0x0 PAGE/.test(r.label)));
  const cut = await layoutOf(s.bytes.subarray(0, s.dev + 20));
  ok(cut.ranges.at(-1)!.kind === "undecoded" || cut.ranges.at(-1)!.kind === "field");
  strictEqual(cut.ranges.reduce((n, r) => n + r.size, 0), s.dev + 20);
});
