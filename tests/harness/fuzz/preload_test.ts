import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { VirtMachine } from "../../../emu/virt.ts";
import { CaseMaker } from "../../../harness/fuzz/cases.ts";
import { imageIndex, imageWord, installImage, planPreload } from "../../../harness/fuzz/preload.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { demoBase } from "./_base.ts";

const base = await demoBase();

Deno.test("the image is what the base's RAM chunks leave in a new machine", async () => {
  const plan = (await CaseMaker.create(base)).preload!;
  const loaded = new VirtMachine({ ramSize: 16 << 20 });
  await loaded.load(StreamReader.fromBytes(base));
  const held = new VirtMachine({ ramSize: 16 << 20 });
  installImage(plan, held.ram);
  deepStrictEqual(held.ram.written, loaded.ram.written);
  ok(Buffer.from(held.ram.u8).equals(Buffer.from(loaded.ram.u8)));
  // Pages are sorted and found; the bitmap agrees with them.
  for (let i = 0; i < plan.pages.length; i++) strictEqual(imageIndex(plan, plan.pages[i]), i);
  const missing = plan.pages[0] === 0 ? plan.pages[plan.pages.length - 1] + 1 : 0;
  strictEqual(imageIndex(plan, missing), -1);
  strictEqual((imageWord(plan, missing >>> 5) >>> (missing & 31)) & 1, 0);
  strictEqual(imageWord(plan, 1 << 20), 0);
});

Deno.test("each replacement changes nothing in a machine holding the image", async () => {
  const plan = (await CaseMaker.create(base)).preload!;
  ok(plan.replacements.length > 0);
  for (const r of plan.replacements) ok(r.payload.length < 64, `${r.payload.length} bytes`);
  strictEqual(plan.prefixEnd, plan.replacements[plan.replacements.length - 1].end);
});

Deno.test("no plan without pre-parsed chunks", async () => {
  strictEqual(planPreload(await layoutOfBytes(base), base, []), undefined);
});
