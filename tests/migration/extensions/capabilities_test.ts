import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { UnknownEntityError } from "../../../migration/errors.ts";
import {
  CAPABILITIES,
  capabilityInfo,
  extensionsFrom,
  extensionsFromStream,
  mergeExtensions,
  NO_EXTENSIONS,
  recordedCapabilities,
} from "../../../migration/extensions/capabilities.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { hex } from "../_helpers.ts";
import { registryOf, streamOf } from "./_walk.ts";

Deno.test("every capability has a unique name, a switch, a summary and its thread", () => {
  const names = CAPABILITIES.map((c) => c.name);
  strictEqual(new Set(names).size, names.length);
  strictEqual(new Set(CAPABILITIES.map((c) => c.key)).size, names.length);
  deepStrictEqual(Object.keys(NO_EXTENSIONS).sort(), CAPABILITIES.map((c) => c.key).sort());
  for (const c of CAPABILITIES) ok(c.summary && c.thread && c.name.startsWith("x-"), c.name);
  strictEqual(capabilityInfo("x-skip-unknown-subsections")?.recorded, false);
  strictEqual(capabilityInfo("x-ignore-shared"), undefined);
});

Deno.test("extensionsFrom() turns names into switches and ignores names it does not know", () => {
  deepStrictEqual(extensionsFrom(["x-vmsd-markers", "x-ignore-shared"]), {
    ...NO_EXTENSIONS,
    vmsdMarkers: true,
  });
});

Deno.test("extensionsFromStream() rejects a capability this side does not know, as QEMU does", () => {
  throws(
    () => extensionsFromStream(["x-ignore-shared"], 8),
    (e: unknown) =>
      e instanceof UnknownEntityError &&
      e.message.startsWith("Received unknown capability x-ignore-shared") &&
      e.offset === 8,
  );
  throws(() => extensionsFromStream(["x-skip-unknown-subsections"]), /unknown capability/);
  strictEqual(extensionsFromStream(["x-self-describing"]).selfDescribing, true);
});

Deno.test("recordedCapabilities() keeps foreign names, orders ours, and drops local policies", () => {
  deepStrictEqual(
    recordedCapabilities([
      "x-self-describing",
      "x-skip-unknown-subsections",
      "x-ignore-shared",
      "x-vmsd-markers",
    ]),
    ["x-ignore-shared", "x-vmsd-markers", "x-self-describing"],
  );
});

Deno.test("mergeExtensions(): the stream decides the encoding, this side adds its load policies", () => {
  const stream = extensionsFrom(["x-vmsd-markers"]);
  const local = extensionsFrom([
    "x-self-describing",
    "x-strict-subsections",
    "x-skip-unknown-subsections",
  ]);
  deepStrictEqual(mergeExtensions(stream, local), {
    ...NO_EXTENSIONS,
    vmsdMarkers: true,
    strictSubsections: true,
    skipUnknownSubsections: true,
  });
});

Deno.test("a stream saved with only local policies on is byte-identical to the default stream", async () => {
  const reg = registryOf({ vmsd: F.vmsd({ name: "d", fields: [F.uint8("a")] }), state: { a: 1 } });
  strictEqual(
    hex(await streamOf(reg, { capabilities: ["x-skip-unknown-subsections"] })),
    hex(await streamOf(reg)),
  );
});
