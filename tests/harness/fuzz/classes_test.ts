import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CASE_CLASSES, CLASS_MEANING, emptyCounts, isBug } from "../../../harness/fuzz/classes.ts";

Deno.test("bugs are exactly invalid, exception and hang", () => {
  deepStrictEqual(CASE_CLASSES.filter(isBug), ["invalid", "exception", "hang"]);
  for (const c of CASE_CLASSES) strictEqual(CLASS_MEANING[c].startsWith("BUG"), isBug(c), c);
  deepStrictEqual(Object.keys(emptyCounts()), [...CASE_CLASSES]);
  strictEqual(Object.values(emptyCounts()).reduce((a, b) => a + b), 0);
});
