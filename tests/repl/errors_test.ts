import { strictEqual } from "node:assert/strict";
import { ElfError } from "../../emu/errors.ts";
import { MigrationParameterError } from "../../harness/migration/params.ts";
import { StoreError } from "../../harness/store/errors.ts";
import { StreamTruncatedError } from "../../migration/errors.ts";
import { UsageError } from "../../repl/commands/types.ts";
import { describeUserError, ExpectationError } from "../../repl/errors.ts";

Deno.test("user errors are recognised by class, not by a name ending in Error", () => {
  strictEqual(describeUserError(new UsageError("bad"))?.code, 2);
  strictEqual(describeUserError(new MigrationParameterError("max-rounds", "no"))?.code, 2);
  strictEqual(describeUserError(new ElfError("unreadable", "nope"))?.code, 1);
  strictEqual(describeUserError(new StoreError("not-found", "gone"))?.line, "StoreError: gone");
  strictEqual(describeUserError(new ExpectationError("x"))?.line, "ExpectationError: x");
  strictEqual(describeUserError(new Deno.errors.NotFound("no file"))?.code, 1);
  const t = new StreamTruncatedError(4, 1, { offset: 3 });
  strictEqual(describeUserError(t)?.line.startsWith("StreamTruncatedError [corrupt]: "), true);
  class LooksLikeAUserError extends Error {
    override name = "LooksLikeAUserError";
  }
  strictEqual(describeUserError(new LooksLikeAUserError("bug")), undefined, "a bug is a bug");
  strictEqual(describeUserError(new TypeError("bug")), undefined);
  strictEqual(describeUserError("not an error"), undefined);
});
