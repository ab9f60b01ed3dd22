import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { decodeConfiguration } from "../../../migration/inspect/config.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamFormatError } from "../../../migration/errors.ts";
import { Bytes } from "./_stream.ts";

Deno.test("config: machine name alone", () => {
  const r = StreamReader.fromBytes(
    new Bytes().be32(4).raw(new TextEncoder().encode("virt")).u8(1).bytes(),
  );
  assertEquals(decodeConfiguration(r), { value: { machine: "virt" }, warnings: [] });
  assertEquals(r.offset, 8);
});

Deno.test("config: page bits, capabilities and uuid subsections", () => {
  const w = new Bytes().be32(3).raw(new TextEncoder().encode("arm"))
    .u8(5).str8("configuration/target-page-bits").be32(1).be32(12)
    .u8(5).str8("configuration/capabilities").be32(1).be32(1).str8("x-ignore-shared")
    .u8(5).str8("configuration/uuid").be32(1).raw(Array.from({ length: 16 }, (_, i) => i))
    .u8(5).str8("other/x");
  const r = StreamReader.fromBytes(w.bytes());
  const c = decodeConfiguration(r);
  assertEquals(c.value, {
    machine: "arm",
    pageBits: 12,
    capabilities: ["x-ignore-shared"],
    uuid: "00010203-0405-0607-0809-0a0b0c0d0e0f",
  });
  assertEquals(c.stop, undefined);
  assertEquals(r.peekU8(), 5);
});

Deno.test("config: unknown subsection stops, unless the vmdesc describes it; bad length throws", () => {
  const w = new Bytes().be32(1).u8(0x41).u8(5).str8("configuration/new").be32(1).u8(7);
  const c = decodeConfiguration(StreamReader.fromBytes(w.bytes()));
  assertEquals(typeof c.stop, "string");
  const r = StreamReader.fromBytes(w.bytes());
  const d = decodeConfiguration(r, {
    fields: [],
    subsections: [{
      vmsdName: "configuration/new",
      fields: [{ name: "v", type: "uint8", size: 1 }],
      subsections: [],
    }],
  });
  assertEquals([d.stop, r.atEnd], [undefined, true]);
  throws(
    () => decodeConfiguration(StreamReader.fromBytes(new Bytes().be32(1 << 20).bytes())),
    StreamFormatError,
  );
});
