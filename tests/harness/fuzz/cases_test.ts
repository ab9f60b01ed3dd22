import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { CaseMaker, caseSeed, compactRamPayload } from "../../../harness/fuzz/cases.ts";
import { installImage } from "../../../harness/fuzz/preload.ts";
import { compareMachines } from "../../../harness/replay/state_diff.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { bytesOf, demoBase } from "./_base.ts";

const base = await demoBase();

Deno.test("case seeds depend on campaign seed and index only", () => {
  strictEqual(caseSeed(1, 5), caseSeed(1, 5));
  ok(caseSeed(1, 5) !== caseSeed(1, 6) && caseSeed(1, 5) !== caseSeed(2, 5));
});

Deno.test("any case can be rebuilt on its own, in any order", async () => {
  const a = await CaseMaker.create(base);
  const b = await CaseMaker.create(base);
  const forward = [];
  for (let i = 0; i < 30; i++) forward.push((await a.make(7, i, true)).ops);
  for (let i = 29; i >= 0; i--) deepStrictEqual((await b.make(7, i, true)).ops, forward[i]);
  notDeepStrictEqual(forward[0], forward[1]);
});

Deno.test("the pre-parsed RAM payload loads the same machine as the full one", async () => {
  const layout = await layoutOfBytes(base);
  const chunk = layout.chunks.find((c) =>
    c.section === "ram" && c.ramRecords?.some((r) => r.kind === "page")
  )!;
  const payload = compactRamPayload(chunk, layout.pageSize, base)!;
  ok(payload.length < chunk.payloadSize / 2, `${payload.length} vs ${chunk.payloadSize}`);
  const compact = new Uint8Array(base.length - chunk.payloadSize + payload.length);
  compact.set(base.subarray(0, chunk.payloadOffset));
  compact.set(payload, chunk.payloadOffset);
  compact.set(
    base.subarray(chunk.payloadOffset + chunk.payloadSize),
    chunk.payloadOffset + payload.length,
  );
  const [m1, m2] = [new VirtMachine({ ramSize: 16 << 20 }), new VirtMachine({ ramSize: 16 << 20 })];
  await m1.load(StreamReader.fromBytes(base));
  await m2.load(StreamReader.fromBytes(compact));
  strictEqual(compareMachines(m1, m2).equal, true);
  deepStrictEqual(m2.ram.written, m1.ram.written);
});

Deno.test("cases load like their exact bytes: same class, same machine", async () => {
  const maker = await CaseMaker.create(base);
  let preParsed = 0;
  let preloaded = 0;
  for (let i = 0; i < 60; i++) {
    const fast = await maker.make(11, i);
    if (fast.preParsed) preParsed++;
    const fastBytes = await bytesOf(fast.input);
    const exactBytes = await maker.build(fast.ops);
    const [m1, m2] = [
      new VirtMachine({ ramSize: 16 << 20 }),
      new VirtMachine({ ramSize: 16 << 20 }),
    ];
    if (fast.ramPreloaded) {
      preloaded++;
      installImage(maker.preload!, m1.ram);
    }
    const r1 = await m1.load(StreamReader.fromBytes(fastBytes)).then(() => "ok", (e) => e.name);
    const r2 = await m2.load(StreamReader.fromBytes(exactBytes)).then(() => "ok", (e) => e.name);
    strictEqual(r1, r2, `case ${i}: ${JSON.stringify(fast.ops)}`);
    if (r1 === "ok") strictEqual(compareMachines(m1, m2).equal, true, `case ${i}`);
  }
  ok(preParsed > 30, `${preParsed} of 60 pre-parsed`);
  ok(preloaded > 30 && preloaded < 60, `${preloaded} of 60 pre-loaded`);
});

Deno.test("a case patched in place leaves the next case unaffected", async () => {
  const maker = await CaseMaker.create(base);
  const first = await bytesOf((await maker.make(4, 0)).input);
  for (let i = 1; i < 20; i++) await bytesOf((await maker.make(4, i)).input);
  deepStrictEqual(await bytesOf((await maker.make(4, 0)).input), first);
});

Deno.test("the pre-loaded base in a machine holding the image is the full base in a new one", async () => {
  const maker = await CaseMaker.create(base);
  const plan = maker.preload!;
  ok(plan.pages.length > 0);
  const { input, ramPreloaded } = maker.unmodified();
  strictEqual(ramPreloaded, true);
  ok(input.length < base.length - 60_000, `${input.length} vs ${base.length}`);
  const [m1, m2] = [new VirtMachine({ ramSize: 16 << 20 }), new VirtMachine({ ramSize: 16 << 20 })];
  installImage(plan, m1.ram);
  await m1.load(StreamReader.fromBytes(input));
  await m2.load(StreamReader.fromBytes(base));
  strictEqual(compareMachines(m1, m2).equal, true);
  deepStrictEqual(m1.ram.written, m2.ram.written);
});
