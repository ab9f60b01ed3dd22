/** Section labels: one format, the one the corruption selectors and wire positions parse back. */
import { strictEqual } from "node:assert/strict";
import { sectionLabel } from "../../../migration/sections/label.ts";

Deno.test("sectionLabel() adds the instance only when it is not 0", () => {
  strictEqual(sectionLabel({ idstr: "serial", instanceId: 0 }), "serial");
  strictEqual(sectionLabel({ idstr: "pflash_cfi01", instanceId: 1 }), "pflash_cfi01#1");
  strictEqual(sectionLabel({ idstr: "0000:00:01.0/b", instanceId: 2 }), "0000:00:01.0/b#2");
});
