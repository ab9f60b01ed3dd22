import { strictEqual, throws } from "node:assert/strict";
import { SaveError } from "../../../migration/errors.ts";
import { TaggedSaver } from "../../../migration/extensions/tagged_save.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { b, be32, hex, str8 } from "../_helpers.ts";

function tagged(vmsd: VmStateDescription, state: StateRecord): Uint8Array {
  const w = new StreamWriter();
  new TaggedSaver(w).save(vmsd, state);
  return w.take();
}

const entry = (name: string, kind: number, count: number, payload: Uint8Array) =>
  b(0x46, str8(name), kind, be32(count), be32(payload.length), payload);
const desc = (name: string, version: number, ...entries: Uint8Array[]) => {
  const body = b(...entries);
  return b(0x44, str8(name), be32(version), be32(body.length), body);
};

Deno.test("every description and field carries its name and length; leaves keep QEMU's bytes", () => {
  const d = F.vmsd({ name: "dev", versionId: 2, fields: [F.uint8("a"), F.uint16("b")] });
  strictEqual(
    hex(tagged(d, { a: 1, b: 0x0203 })),
    hex(desc("dev", 2, entry("a", 0x10, 1, b(1)), entry("b", 0x10, 1, b(2, 3)))),
  );
});

Deno.test("structs, pointer slots and needed subsections nest as description records", () => {
  const el = F.vmsd({ name: "el", fields: [F.uint8("x")] });
  const d = F.vmsd({
    name: "dev",
    fields: [F.struct("s", el), F.pointerArray("p", el, { num: 2 })],
    subsections: [
      F.vmsd({ name: "dev/on", needed: () => true, fields: [F.int8("y")] }),
      F.vmsd({ name: "dev/off", needed: () => false, fields: [F.int8("z")] }),
    ],
  });
  const el7 = desc("el", 1, entry("x", 0x10, 1, b(7)));
  strictEqual(
    hex(tagged(d, { s: { x: 7 }, p: [null, { x: 7 }], y: -1 })),
    hex(desc(
      "dev",
      1,
      entry("s", 0x01, 1, el7),
      entry("p", 0x02, 2, b(0x30, 0x31, el7)),
      b(0x53, desc("dev/on", 1, entry("y", 0x11, 1, b(0xff)))),
    )),
  );
});

Deno.test("unused padding, VALIDATE rows and fields gated off by version are not written", () => {
  const d = F.vmsd({
    name: "dev",
    versionId: 1,
    fields: [
      F.unused(4),
      F.validate("ok", () => true),
      F.uint8("a"),
      F.uint8("t", { exists: () => false }),
    ],
  });
  strictEqual(hex(tagged(d, { a: 5 })), hex(desc("dev", 1, entry("a", 0x10, 1, b(5)))));
});

Deno.test("repeated names get vmdesc's [k] suffix so each entry has a unique name", () => {
  const d = F.vmsd({
    name: "dev",
    fields: [
      F.uint8("cfg", { exists: (s) => s.small }),
      F.uint16("cfg", { exists: (s) => !s.small }),
    ],
  });
  strictEqual(
    hex(tagged(d, { small: false, cfg: 9 })),
    hex(desc("dev", 1, entry("cfg[1]", 0x10, 1, b(0, 9)))),
  );
});

Deno.test("a failing pre_save or an inconsistent count is a SaveError", () => {
  const d = F.vmsd({ name: "dev", preSave: () => false, fields: [F.uint8("a")] });
  throws(() => tagged(d, { a: 1 }), SaveError);
  const v = F.vmsd({ name: "v", fields: [F.uint8("n"), F.varray("x", F.uint8("e").info!, "n")] });
  throws(() => tagged(v, { n: 3, x: [1] }), /has 1 elements but its count says 3/);
  throws(() => new TaggedSaver(new StreamWriter()).load(), SaveError);
});
