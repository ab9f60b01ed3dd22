import { strictEqual } from "node:assert/strict";
import { FaultSpecError } from "../../../harness/wire/errors.ts";

Deno.test("FaultSpecError names the word it is about", () => {
  const e = new FaultSpecError("unknown fault", "smash:1");
  strictEqual(e.name, "FaultSpecError");
  strictEqual(e.spec, "smash:1");
  strictEqual(e.message, '"smash:1": unknown fault');
  strictEqual(new FaultSpecError("a position is missing").message, "a position is missing");
});
