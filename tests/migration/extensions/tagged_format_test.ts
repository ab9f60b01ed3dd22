import { strictEqual } from "node:assert/strict";
import {
  fixedElementSize,
  isUntransmitted,
  Kind,
  kindName,
  kindOf,
} from "../../../migration/extensions/tagged_format.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";

const leaf = F.vmsd({ name: "l", fields: [F.uint8("x")] });

Deno.test("kindOf() classifies fields by what a tool needs to show them", () => {
  strictEqual(kindOf(F.uint32("a")), Kind.UNSIGNED);
  strictEqual(kindOf(F.uint64Equal("a")), Kind.UNSIGNED);
  strictEqual(kindOf(F.int32Le("a")), Kind.SIGNED);
  strictEqual(kindOf(F.timer("t")), Kind.SIGNED);
  strictEqual(kindOf(F.bool("b")), Kind.BOOL);
  strictEqual(kindOf(F.cpuDouble("d")), Kind.FLOAT);
  strictEqual(kindOf(F.buffer("buf", 4)), Kind.BYTES);
  strictEqual(kindOf(F.struct("s", leaf)), Kind.STRUCT);
  strictEqual(kindOf(F.pointerArray("p", leaf, { num: 2 })), Kind.POINTER);
  strictEqual(kindOf(F.varray("c", I.vmstateCapability, "n")), Kind.STRING);
  strictEqual(kindOf(F.qtailq("q", leaf)), Kind.OPAQUE);
  strictEqual(kindName(Kind.POINTER), "pointer");
  strictEqual(kindName(0x99), "kind 0x99");
});

Deno.test("unused padding and VALIDATE rows are not written; fixed-size leaves need no scratch", () => {
  strictEqual(isUntransmitted(F.unused(4)), true);
  strictEqual(isUntransmitted(F.validate("v", () => true)), true);
  strictEqual(isUntransmitted(F.uint8("a")), false);
  strictEqual(fixedElementSize(F.array("r", I.vmstateUint32, 4)), true);
  strictEqual(fixedElementSize(F.vbuffer("b", "n")), true);
  strictEqual(fixedElementSize(F.bitmap("m", "n")), false);
  strictEqual(fixedElementSize(F.struct("s", leaf)), false);
});
