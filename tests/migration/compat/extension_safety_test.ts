import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseDump } from "../../../migration/compat/dump_model.ts";
import { extensionSafety, nameAdvice } from "../../../migration/compat/extension_safety.ts";
import { checkDumps } from "../../../migration/compat/static_checker.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;
const fixture = async (name: string) =>
  parseDump(await Deno.readTextFile(`${FIX}${name}.dump-vmstate.json`));

Deno.test("extensionSafety() says which extension makes each finding safe, detected or nothing", async () => {
  const src = await fixture("virt-subset");
  const dest = await fixture("virt-subset-mutated");
  const notes = extensionSafety(checkDumps(src, dest), src, dest);
  deepStrictEqual(notes.map((n) => [n.finding.kind, n.verdict]), [
    ["subsection-missing", "safe"],
    ["version", "safe"],
    ["version", "safe"],
    ["size-mismatch", "detected"],
    ["field-mismatch", "detected"],
    ["minimum-version", "unsafe"],
    ["section-missing", "unsafe"],
  ]);
  ok(notes[0].text.includes("x-skip-unknown-subsections"));
  ok(notes[1].text.includes("x-self-describing"));
  ok(notes[4].text.includes('keeps this side\'s "pending_renamed"'));
});

Deno.test("extensionSafety() sees that a version bump which dropped a field is not safe", () => {
  const f = (field: string, size = 4) => ({ field, version_id: 0, field_exists: false, size });
  const mk = (v: number, fields: ReturnType<typeof f>[]) =>
    parseDump(JSON.stringify({
      vmschkmachine: { Name: "m" },
      dev: {
        Name: "dev",
        version_id: v,
        minimum_version_id: 1,
        Description: { name: "dev", version_id: v, minimum_version_id: 1, Fields: fields },
      },
    }));
  const newer = mk(3, [f("a"), f("b", 8), f("c")]);
  const older = mk(2, [f("a"), f("b"), f("gone")]);
  const notes = extensionSafety(checkDumps(newer, older), newer, older);
  const version = notes.filter((n) => n.finding.kind === "version");
  strictEqual(version.length, 2);
  strictEqual(version[0].verdict, "detected");
  ok(version[0].text.includes("keeps its own gone"), version[0].text);
  ok(version[0].text.includes("rejects the resized b"), version[0].text);
  const added = mk(3, [f("a"), f("b"), f("gone"), f("extra")]);
  const safe = extensionSafety(checkDumps(added, older), added, older);
  strictEqual(safe[0].verdict, "safe");
  ok(safe[0].text.includes("skips extra"));
});

Deno.test("nameAdvice() lists subsections strict attribution would not take", async () => {
  const advice = nameAdvice(await fixture("virt-subset"));
  deepStrictEqual(advice.map((a) => a.section), ["cfi.pflash01"]);
  ok(advice[0].text.includes('"pflash_cfi01_blk_write"'));
  const full = nameAdvice(await fixture("virt"));
  ok(full.some((a) => a.text.includes('"vga.endian"')));
});
