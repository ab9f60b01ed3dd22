/**
 * Keys are typed against the record a description describes: `deno task check` fails on every
 * line marked `@ts-expect-error` that would compile, so a misspelt key cannot come back.
 */
import { strictEqual } from "node:assert/strict";
import { compile } from "../../../migration/vmstate/compile.ts";
import { uint32, uint8, varray, vmsd } from "../../../migration/vmstate/fields.ts";
import { vmstateUint8 } from "../../../migration/vmstate/infos.ts";

interface Rtc {
  alarmRunning: number;
  n: number;
  regs: number[];
  nested: { lsr: number };
}

Deno.test("a key that names no property of the record is a type error", () => {
  const good = vmsd<Rtc>({
    name: "rtc",
    fields: [
      uint32("alarm_running", { key: "alarmRunning" }),
      uint8("lsr", { key: "nested.lsr" }),
      uint32("n"),
      varray("regs", vmstateUint8, "n"),
    ],
  });
  strictEqual(compile(good).fields[0].key, "alarmRunning");
  strictEqual(compile(good).fields[1].key, "nested.lsr");
  const typo = () =>
    vmsd<Rtc>({
      name: "rtc",
      // @ts-expect-error: "alarmRuning" is not a property of Rtc
      fields: [uint32("alarm_running", { key: "alarmRuning" })],
    });
  const wireNameAsKey = () =>
    vmsd<Rtc>({
      name: "rtc",
      // @ts-expect-error: without `key` the wire name must be the property
      fields: [uint32("alarm_running")],
    });
  const badCount = () =>
    vmsd<Rtc>({
      name: "rtc",
      // @ts-expect-error: the count property is typed too
      fields: [uint32("n"), varray("regs", vmstateUint8, "count")],
    });
  strictEqual(typeof typo, "function");
  strictEqual(typeof wireNameAsKey, "function");
  strictEqual(typeof badCount, "function");
});
