import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  capabilitiesOn,
  MIGRATION_CAPABILITIES,
  migrationCapabilityInfo,
  NO_MIGRATION_CAPABILITIES,
} from "../../../harness/migration/capabilities.ts";

Deno.test("QEMU's migration capabilities: names, switches, what is on", () => {
  deepStrictEqual(MIGRATION_CAPABILITIES.map((c) => c.name), [
    "xbzrle",
    "auto-converge",
    "pause-before-switchover",
    "postcopy-ram",
  ]);
  strictEqual(migrationCapabilityInfo("auto-converge")?.key, "autoConverge");
  strictEqual(migrationCapabilityInfo("x-vmsd-markers"), undefined);
  strictEqual(migrationCapabilityInfo("postcopy-ram")?.unavailable, undefined, "postcopy works");
  deepStrictEqual(capabilitiesOn(NO_MIGRATION_CAPABILITIES), []);
  deepStrictEqual(
    capabilitiesOn({ ...NO_MIGRATION_CAPABILITIES, pauseBeforeSwitchover: true, xbzrle: true }),
    ["xbzrle", "pause-before-switchover"],
  );
});
