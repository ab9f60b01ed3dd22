import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  judgeSectionTag,
  QEMU_MANIFEST,
  readSectionTag,
  sectionTag,
  SNAPSHELL_MANIFEST,
  subsectionNames,
  type VendorMinor,
  VendorVersionError,
  type VersionManifest,
  writeSectionTag,
} from "../../../migration/extensions/versioning.ts";
import type { SectionVerdict } from "../../../migration/extensions/versioning.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { b, be32, caughtAsync, hex, str8 } from "../_helpers.ts";
import { loadStreamOf, registryOf, streamOf } from "./_walk.ts";

const VENDOR = "com.example";
const feature = F.vmsd({
  name: "serial/example-stats",
  needed: (s) => s.stats > 0,
  fields: [F.uint32("stats")],
});
const serialVendor = F.vmsd({ name: "serial", fields: [F.uint8("lsr")], subsections: [feature] });
const serialUpstream = F.vmsd({ name: "serial", fields: [F.uint8("lsr")] });
const manifest = (vendor: string, minor: number): VersionManifest => ({
  vendor,
  protocolMinor: 3,
  features: [{ section: "serial", subsection: "serial/example-stats", vendor, minor }],
});

Deno.test("sectionTag() lists only the vendor features a save sent, with each vendor's minor", () => {
  const m = manifest(VENDOR, 2);
  deepStrictEqual(sectionTag(m, "serial", ["serial/example-stats"]), [
    { vendor: VENDOR, minor: 2, features: ["serial/example-stats"] },
  ]);
  deepStrictEqual(sectionTag(m, "serial", []), []);
  deepStrictEqual(sectionTag(m, "rtc", ["serial/example-stats"]), []);
  deepStrictEqual(sectionTag(undefined, "serial", ["serial/example-stats"]), []);
});

Deno.test("writeSectionTag()/readSectionTag(): u8 count, then str8 vendor, be32 minor, features", () => {
  const tag: VendorMinor[] = [{ vendor: "a.b", minor: 7, features: ["s/x"] }];
  const w = new StreamWriter();
  writeSectionTag(w, tag);
  const bytes = w.take();
  strictEqual(hex(bytes), hex(b(1, str8("a.b"), be32(7), 1, str8("s/x"))));
  deepStrictEqual(readSectionTag(StreamReader.fromBytes(bytes)), tag);
});

Deno.test("judgeSectionTag(): by minor for a vendor this side implements, by features otherwise", () => {
  const tag = [{ vendor: VENDOR, minor: 2, features: ["serial/example-stats"] }];
  const same = judgeSectionTag("serial", tag, manifest(VENDOR, 2), serialVendor);
  strictEqual(same.ok, true);
  const older = judgeSectionTag("serial", tag, manifest(VENDOR, 1), serialVendor);
  strictEqual(older.ok, false);
  ok(older.reasons[0].includes("is newer than this side's 1: cannot load"), older.reasons[0]);
  const backport = judgeSectionTag("serial", tag, manifest("org.other", 4), serialVendor);
  strictEqual(backport.ok, true);
  ok(backport.reasons[0].includes("has every feature sent"));
  const upstream = judgeSectionTag("serial", tag, QEMU_MANIFEST, serialUpstream);
  strictEqual(upstream.ok, false);
  strictEqual(
    upstream.reasons[0],
    "com.example minor 2 (sent: serial/example-stats): this side lacks serial/example-stats: cannot load",
  );
  deepStrictEqual(judgeSectionTag("serial", [], QEMU_MANIFEST, serialUpstream).reasons, [
    "no vendor features used (upstream layout): ok",
  ]);
});

Deno.test("subsectionNames() finds subsections of nested structs too", () => {
  const outer = F.vmsd({ name: "o", fields: [F.struct("s", serialVendor)] });
  deepStrictEqual([...subsectionNames(outer)], ["serial/example-stats"]);
});

Deno.test("the stream records the vendor in the configuration record and a tag in every section", async () => {
  const src = registryOf({ vmsd: serialVendor, state: { lsr: 1, stats: 9 } });
  const bytes = await streamOf(src, {
    capabilities: ["x-vendor-versions"],
    manifest: manifest(VENDOR, 2),
    sendVmdesc: false,
  });
  const vendorSub = b(0x05, str8("configuration/vendor"), be32(1), str8(VENDOR), be32(3));
  ok(hex(bytes).includes(hex(vendorSub)), "configuration/vendor");
  const tag = b(1, str8(VENDOR), be32(2), 1, str8("serial/example-stats"));
  const header = b(0x04, be32(0), str8("serial"), be32(0), be32(1));
  ok(hex(bytes).includes(hex(b(header, tag, 1))), "the tag follows the section header");
});

Deno.test("a vendor feature in use is refused before its data, with the reasons; unused, it loads", async () => {
  const opts = { capabilities: ["x-vendor-versions"], manifest: manifest(VENDOR, 2) };
  const used = await streamOf(
    registryOf({ vmsd: serialVendor, state: { lsr: 1, stats: 9 } }),
    opts,
  );
  const verdicts: SectionVerdict[] = [];
  const e = await caughtAsync(
    loadStreamOf(used, registryOf({ vmsd: serialUpstream, state: { lsr: 0 } }), {
      manifest: QEMU_MANIFEST,
      onVerdict: (v) => verdicts.push(v),
    }),
  );
  strictEqual(e instanceof VendorVersionError, true);
  strictEqual((e as VendorVersionError).kind, "incompatible");
  ok(e.message.includes("Section 'serial': com.example minor 2"), e.message);
  strictEqual(verdicts[0].ok, false);
  const unused = await streamOf(
    registryOf({ vmsd: serialVendor, state: { lsr: 1, stats: 0 } }),
    opts,
  );
  const state = { lsr: 0 };
  const report = await loadStreamOf(unused, registryOf({ vmsd: serialUpstream, state }), {
    manifest: QEMU_MANIFEST,
  });
  strictEqual(state.lsr, 1);
  deepStrictEqual(report.sections.find((s) => s.idstr === "serial")?.vendor, []);
  strictEqual(report.configuration?.vendor, VENDOR);
  strictEqual(report.configuration?.protocolMinor, 3);
});

Deno.test("SNAPSHELL_MANIFEST names the UART's snapshell-only input queue as org.snapshell minor 1", () => {
  deepStrictEqual(SNAPSHELL_MANIFEST.features.map((f) => [f.subsection, f.vendor, f.minor]), [
    ["serial/snapshell-input", "org.snapshell", 1],
  ]);
});
