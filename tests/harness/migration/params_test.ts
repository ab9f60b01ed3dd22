/** Migration parameters: QEMU's defaults, range checks naming the parameter, virtual time. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  checkParameters,
  DEFAULT_PARAMETERS,
  insnsForBytes,
  MAX_DOWNTIME_LIMIT_MS,
  MigrationParameterError,
  VIRTUAL_HZ,
} from "../../../harness/migration/params.ts";

Deno.test("the defaults are QEMU 7.2's: 128 MiB/s and 300 ms", () => {
  strictEqual(DEFAULT_PARAMETERS.maxBandwidth, 128 << 20);
  strictEqual(DEFAULT_PARAMETERS.downtimeLimitMs, 300);
  strictEqual(DEFAULT_PARAMETERS.onNoConvergence, "give-up");
  deepStrictEqual(checkParameters({ ...DEFAULT_PARAMETERS }), DEFAULT_PARAMETERS);
});

Deno.test("checkParameters() names the parameter that is out of range", () => {
  const bad: [Partial<typeof DEFAULT_PARAMETERS>, string][] = [
    [{ maxBandwidth: 0 }, "max-bandwidth"],
    [{ maxBandwidth: Infinity }, "max-bandwidth"],
    [{ downtimeLimitMs: -1 }, "downtime-limit"],
    [{ downtimeLimitMs: MAX_DOWNTIME_LIMIT_MS + 1 }, "downtime-limit"],
    [{ maxRounds: 1.5 }, "max-rounds"],
    [{ onNoConvergence: "maybe" as "force" }, "on-no-convergence"],
  ];
  for (const [p, name] of bad) {
    throws(
      () => checkParameters({ ...DEFAULT_PARAMETERS, ...p }),
      (e) => e instanceof MigrationParameterError && e.parameter === name,
      name,
    );
  }
});

Deno.test("insnsForBytes() is the guest's share of the time bytes spend on the wire", () => {
  strictEqual(VIRTUAL_HZ, 100e6);
  strictEqual(insnsForBytes(128 << 20, 128 << 20), 100_000_000, "one second");
  strictEqual(insnsForBytes(1, 1e9), 1, "rounded up");
  strictEqual(insnsForBytes(0, 1), 0);
});
