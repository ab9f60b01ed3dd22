import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import {
  checkOp,
  type CorruptOp,
  hexToBytes,
  normalizeHex,
  OP_NAMES,
  opWord,
  parseAssignment,
  parseInteger,
  parseOpWord,
} from "../../../migration/corrupt/ops.ts";

const code = (c: string) => (e: unknown) => e instanceof CorruptOpError && e.code === c;

Deno.test("every operation word parses into its record", () => {
  deepStrictEqual(parseOpWord("flip:0x10:3"), { op: "flip", offset: 16, bit: 3 });
  deepStrictEqual(parseOpWord("flip:7"), { op: "flip", offset: 7, bit: 0 });
  deepStrictEqual(parseOpWord("set:4:0xff"), { op: "set-byte", offset: 4, value: 255 });
  deepStrictEqual(parseOpWord("insert:1:0a0B"), { op: "insert", offset: 1, hex: "0a0b" });
  deepStrictEqual(parseOpWord("delete:2:3"), { op: "delete", offset: 2, length: 3 });
  deepStrictEqual(parseOpWord("truncate:100"), { op: "truncate", length: 100 });
  deepStrictEqual(parseOpWord("splice:1:2:-:3:4"), {
    op: "splice",
    offset: 1,
    length: 2,
    source: "-",
    sourceOffset: 3,
    sourceLength: 4,
  });
  deepStrictEqual(parseOpWord("drop:ram@end"), { op: "drop-section", section: "ram@end" });
  deepStrictEqual(parseOpWord("dup:serial"), { op: "duplicate-section", section: "serial" });
  deepStrictEqual(parseOpWord("move:cpu:eof"), {
    op: "move-section",
    section: "cpu",
    before: "eof",
  });
  deepStrictEqual(parseOpWord("drop-sub:cpu/pmp"), {
    op: "drop-subsection",
    subsection: "cpu/pmp",
  });
  deepStrictEqual(parseOpWord("rename-sub:cpu/pmp:cpu/x"), {
    op: "rename-subsection",
    subsection: "cpu/pmp",
    to: "cpu/x",
  });
  deepStrictEqual(parseOpWord("version:serial:9"), {
    op: "set-version",
    section: "serial",
    version: 9,
  });
  deepStrictEqual(parseOpWord("sub-version:cpu/pmp:2"), {
    op: "set-subsection-version",
    subsection: "cpu/pmp",
    version: 2,
  });
  deepStrictEqual(parseOpWord("instance:serial:1"), {
    op: "set-instance",
    section: "serial",
    instance: 1,
  });
  deepStrictEqual(parseOpWord("footer:serial"), {
    op: "break-footer",
    section: "serial",
    how: "id",
  });
  deepStrictEqual(parseOpWord("vmdesc:json"), { op: "damage-vmdesc", how: "json" });
  deepStrictEqual(parseOpWord("field:nvme.sq[3].tail=65535"), {
    op: "set-field",
    path: "nvme.sq[3].tail",
    value: "65535",
  });
  deepStrictEqual(parseAssignment("serial.lsr = 0xff"), {
    op: "set-field",
    path: "serial.lsr",
    value: "0xff",
  });
});

Deno.test("malformed words are typed errors that say what is wrong", () => {
  throws(() => parseOpWord("frob:1"), code("syntax"));
  throws(() => parseOpWord("flip"), code("syntax"));
  throws(() => parseOpWord("flip:1:8"), code("range"));
  throws(() => parseOpWord("set:1:256"), code("range"));
  throws(() => parseOpWord("delete:-1:2"), code("range"));
  throws(() => parseOpWord("insert:0:abc"), code("syntax"));
  throws(() => parseOpWord("footer:serial:melt"), code("syntax"));
  throws(() => parseOpWord("version:serial:0x100000000"), code("range"));
  throws(() => parseAssignment("serial.lsr"), code("syntax"));
  throws(() => parseInteger("12abc", "offset"), code("syntax"));
});

Deno.test("hex helpers accept the usual spellings", () => {
  strictEqual(normalizeHex("0xDE AD_be"), "deadbe");
  deepStrictEqual([...hexToBytes("00ff10")], [0, 255, 16]);
});

const opArb: fc.Arbitrary<CorruptOp> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), offset: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant("set-byte" as const), offset: fc.nat(), value: fc.nat(255) }),
  fc.record({
    op: fc.constant("insert" as const),
    offset: fc.nat(),
    hex: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) =>
      [...b].map((x) => x.toString(16).padStart(2, "0")).join("")
    ),
  }),
  fc.record({ op: fc.constant("delete" as const), offset: fc.nat(), length: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), length: fc.nat() }),
  fc.record({
    op: fc.constant("drop-section" as const),
    section: fc.constantFrom("serial", "ram@end"),
  }),
  fc.record({
    op: fc.constant("set-version" as const),
    section: fc.constant("cpu"),
    version: fc.nat(),
  }),
  fc.record({
    op: fc.constant("break-footer" as const),
    section: fc.constant("plic"),
    how: fc.constantFrom("drop" as const, "id" as const, "marker" as const),
  }),
  fc.record({
    op: fc.constant("damage-vmdesc" as const),
    how: fc.constantFrom("drop" as const, "length" as const, "truncate" as const, "json" as const),
  }),
  fc.record({
    op: fc.constant("set-field" as const),
    path: fc.constant("serial.lsr"),
    value: fc.constant("0x1"),
  }),
);

Deno.test("an operation's word parses back to the same operation", () => {
  fc.assert(fc.property(opArb, (op) => deepStrictEqual(parseOpWord(opWord(op)), { ...op })));
});

Deno.test("recipe records are checked field by field", () => {
  for (const name of OP_NAMES) {
    throws(() => checkOp({ op: name, offset: -1, length: "x" }, 0), CorruptOpError);
  }
  throws(
    () => checkOp({ op: "explode" }, 2),
    (e) => e instanceof CorruptOpError && e.opIndex === 2,
  );
  throws(() => checkOp(null, 0), code("recipe"));
  deepStrictEqual(checkOp({ op: "flip", offset: 1, bit: 2 }, 0), { op: "flip", offset: 1, bit: 2 });
});
