import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { NO_MIGRATION_CAPABILITIES } from "../../../harness/migration/capabilities.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";
import { initialStatus } from "../../../harness/migration/status.ts";

Deno.test("initialStatus: setup, nothing sent, the capabilities that are on, its own parameters", () => {
  const params = { ...DEFAULT_PARAMETERS };
  const s = initialStatus("tcp:h:1", params, { ...NO_MIGRATION_CAPABILITIES, xbzrle: true });
  strictEqual(s.state, "setup");
  strictEqual(s.bytes, 0);
  deepStrictEqual(s.capabilities, ["xbzrle"]);
  strictEqual(s.xbzrle, null, "filled in once the migration runs");
  strictEqual(s.throttlePercent, 0);
  params.maxBandwidth = 1;
  strictEqual(s.parameters.maxBandwidth, DEFAULT_PARAMETERS.maxBandwidth, "a copy");
  deepStrictEqual(initialStatus("x", params).capabilities, []);
});
