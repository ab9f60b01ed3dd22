import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { canLoadHere } from "../../../migration/extensions/loadability.ts";
import { QEMU_MANIFEST, type VersionManifest } from "../../../migration/extensions/versioning.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { registryOf, streamOf } from "./_walk.ts";

const manifest: VersionManifest = {
  vendor: "com.example",
  protocolMinor: 1,
  features: [{ section: "serial", subsection: "serial/x", vendor: "com.example", minor: 1 }],
};
const vendorSerial = F.vmsd({
  name: "serial",
  versionId: 3,
  minimumVersionId: 2,
  fields: [F.uint8("lsr")],
  subsections: [F.vmsd({ name: "serial/x", needed: (s) => s.x > 0, fields: [F.uint8("x")] })],
});
const upstreamSerial = F.vmsd({
  name: "serial",
  versionId: 3,
  minimumVersionId: 2,
  fields: [F.uint8("lsr")],
});

Deno.test("canLoadHere() says yes with every reason, and the dry run changes nothing", async () => {
  const bytes = await streamOf(registryOf({ vmsd: vendorSerial, state: { lsr: 0x60, x: 0 } }), {
    capabilities: ["x-vendor-versions", "x-vmsd-markers"],
    manifest,
  });
  const state = { lsr: 1 };
  const answer = await canLoadHere(
    () => StreamReader.fromBytes(bytes),
    registryOf({ vmsd: upstreamSerial, state }),
    { machine: "virt", manifest: QEMU_MANIFEST },
  );
  strictEqual(answer.ok, true);
  deepStrictEqual(answer.lines, [
    "stream: machine 'virt'",
    "stream: vendor com.example, savevm protocol minor 1",
    "stream: capability x-vmsd-markers: START/END markers with a length around every description and subsection",
    "stream: capability x-vendor-versions: per-section vendor id (reverse DNS) and minor version beside the major version",
    "serial: version 3 within this side's 2..3; no vendor features used (upstream layout): ok",
    `yes: the stream loads here (dry run of 1 sections, ${bytes.length} bytes; nothing was changed)`,
  ]);
  deepStrictEqual(state, { lsr: 1 }, "a dry run commits nothing");
});

Deno.test("canLoadHere() says no, and why, when a vendor feature this side lacks was sent", async () => {
  const bytes = await streamOf(registryOf({ vmsd: vendorSerial, state: { lsr: 0x60, x: 1 } }), {
    capabilities: ["x-vendor-versions"],
    manifest,
  });
  const answer = await canLoadHere(
    () => StreamReader.fromBytes(bytes),
    registryOf({ vmsd: upstreamSerial, state: { lsr: 0 } }),
    { machine: "virt", manifest: QEMU_MANIFEST },
  );
  strictEqual(answer.ok, false);
  strictEqual(answer.error?.kind, "incompatible");
  ok(
    answer.lines.includes(
      "serial: com.example minor 1 (sent: serial/x): this side lacks serial/x: cannot load",
    ),
    answer.lines.join("\n"),
  );
  ok(answer.lines[answer.lines.length - 1].startsWith("no: VendorVersionError [incompatible]"));
});

Deno.test("canLoadHere() reports a stream that is not one at all", async () => {
  const answer = await canLoadHere(
    () => StreamReader.fromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    registryOf(),
    { machine: "virt" },
  );
  strictEqual(answer.ok, false);
  ok(answer.lines[0].startsWith("no: StreamFormatError [corrupt]"), answer.lines[0]);
});
