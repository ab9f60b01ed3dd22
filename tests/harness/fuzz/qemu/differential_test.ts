import { ok, strictEqual } from "node:assert/strict";
import {
  blamedSection,
  differentialOracle,
  sectionVerdicts,
} from "../../../../harness/fuzz/qemu/differential.ts";
import { corruptBytes } from "../../../../migration/corrupt/mod.ts";

const stream = await Deno.readFile(
  new URL("../../../fixtures/qemu72/virt-running.qemu", import.meta.url),
);

Deno.test("every section both loaders model loads from QEMU's own stream", async () => {
  const v = await sectionVerdicts(stream);
  ok(v && v.size >= 5, `${v?.size} sections compared`);
  for (const [idstr, why] of v!) strictEqual(why, undefined, `${idstr}: ${why}`);
});

Deno.test("QEMU's error text names the section it blames", () => {
  strictEqual(
    blamedSection(
      "qemu-system-riscv32: error while loading state for instance 0x0 of device 'fw_cfg'",
    ),
    "fw_cfg",
  );
  strictEqual(blamedSection("qemu-system-riscv32: Missing section footer for timer"), "timer");
  strictEqual(blamedSection("load of migration failed: Invalid argument"), undefined);
});

Deno.test("a globalstate size QEMU ignores and snapshell refuses is a disagreement", async () => {
  const bad = await corruptBytes(stream, [{
    op: "set-field",
    path: "globalstate.size",
    value: "0x0",
  }]);
  const d = await differentialOracle(bad, { class: "accepted", phase: "run" });
  strictEqual(d?.class, "disagree");
  ok(/globalstate/.test(d!.ours!), String(d!.ours));
  strictEqual(await differentialOracle(stream, { class: "accepted", phase: "run" }), undefined);
  const rejected = { class: "rejected" as const, detail: "Missing section footer for fw_cfg" };
  strictEqual((await differentialOracle(stream, rejected))?.class, "disagree");
});
