import { strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { StoreError } from "../../../harness/store/errors.ts";
import {
  MAX_NAME_LENGTH,
  nameProblem,
  validateSnapshotName,
} from "../../../harness/store/names.ts";

Deno.test("validateSnapshotName() accepts plain words", () => {
  for (const n of ["a", "before-boot", "v1.2_final", "0day"]) {
    strictEqual(validateSnapshotName(n), n);
  }
});

Deno.test("validateSnapshotName() rejects paths, traversal, hidden and reserved names", () => {
  for (
    const n of ["", "../x", "a/b", "a\\b", ".hidden", "..", "-x", "a b", "machine", "x".repeat(65)]
  ) {
    throws(
      () => validateSnapshotName(n),
      (e: unknown) => e instanceof StoreError && e.reason === "bad-name",
      n,
    );
  }
  strictEqual(nameProblem("a/b"), "names cannot contain path separators");
});

Deno.test("nameProblem() never accepts a name that is not a single safe file name", () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
    if (nameProblem(s) !== undefined) return;
    strictEqual(
      s.includes("/") || s.includes("\\") || s.startsWith(".") || s.length > MAX_NAME_LENGTH,
      false,
    );
    strictEqual(/^[A-Za-z0-9._-]+$/.test(s), true);
  }));
});
