import { strictEqual } from "node:assert/strict";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";

Deno.test("an operation error says which operation, once", () => {
  const e = new CorruptOpError("range", "value 256 does not fit");
  strictEqual(e.message, "value 256 does not fit");
  strictEqual(e.at(2).message, "operation 3: value 256 does not fit");
  strictEqual(e.at(5).opIndex, 2);
  strictEqual(e.name, "CorruptOpError");
  strictEqual(e.code, "range");
});
