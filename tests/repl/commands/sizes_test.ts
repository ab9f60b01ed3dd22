import { strictEqual, throws } from "node:assert/strict";
import {
  formatNs,
  parseAddress,
  parseCount,
  parseDuration,
  parseSize,
} from "../../../repl/commands/sizes.ts";
import { UsageError } from "../../../repl/commands/types.ts";

Deno.test("parseSize() and parseCount() read units", () => {
  strictEqual(parseSize("128M"), 128 << 20);
  strictEqual(parseSize("1GiB"), 1 << 30);
  strictEqual(parseCount("5M"), 5_000_000);
  strictEqual(parseCount("1e6"), 1_000_000);
  throws(() => parseSize("12 parsecs"), UsageError);
});

Deno.test("parseDuration() reads virtual time in ns, us, ms and s", () => {
  strictEqual(parseDuration("500ms"), 500_000_000n);
  strictEqual(parseDuration("1.5s"), 1_500_000_000n);
  strictEqual(parseDuration("100us"), 100_000n);
  strictEqual(parseDuration("10ns"), 10n);
  for (const bad of ["5", "soon", "0ms", "-1s", "1h"]) {
    throws(() => parseDuration(bad), UsageError, bad);
  }
});

Deno.test("formatNs() picks a readable unit", () => {
  strictEqual(formatNs(0n), "0 ns");
  strictEqual(formatNs(400_000n), "400.000 us");
  strictEqual(formatNs(12_345_000n), "12.345 ms");
  strictEqual(formatNs(2_000_000_000n), "2.000000 s");
});

Deno.test("parseAddress() takes hex or decimal 32-bit addresses", () => {
  strictEqual(parseAddress("0x80000000"), 0x8000_0000);
  strictEqual(parseAddress("0x8000_0000"), 0x8000_0000);
  strictEqual(parseAddress("4096"), 4096);
  throws(() => parseAddress("0x1_0000_0000"), UsageError);
  throws(() => parseAddress("here"), UsageError);
});
