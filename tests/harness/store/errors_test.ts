import { strictEqual } from "node:assert/strict";
import { StoreError } from "../../../harness/store/errors.ts";

Deno.test("StoreError classifies a changed file as corrupt and I/O as environment", () => {
  strictEqual(new StoreError("changed", "x").kind, "corrupt");
  strictEqual(new StoreError("metadata", "x").kind, "corrupt");
  strictEqual(new StoreError("io", "x").kind, "environment");
  strictEqual(new StoreError("exists", "x").kind, undefined);
});

Deno.test("StoreError carries the snapshot and path it is about", () => {
  const e = new StoreError("not-found", "No snapshot", { snapshot: "a", path: "/s/a.json" });
  strictEqual(e.name, "StoreError");
  strictEqual(e.snapshot, "a");
  strictEqual(e.path, "/s/a.json");
  strictEqual(e instanceof Error, true);
});
