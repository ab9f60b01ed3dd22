import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { vmstateSerial } from "../../../emu/devices/uart16550.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import {
  canonicalSections,
  compareMachines,
  coveredPaths,
  diffRam,
  diffValues,
  isCovered,
  renderValue,
  sectionDifferences,
  type StateDifference,
  uncoveredDifferences,
} from "../../../harness/replay/state_diff.ts";
import { withoutField } from "./_builds.ts";

Deno.test("values are compared deeply and named by path", () => {
  const out: StateDifference[] = [];
  diffValues("dev", "", { a: 1, b: { c: [1, 2n, 3] }, d: new Uint8Array([1, 2]) }, {
    a: 1,
    b: { c: [1, 5n, 3] },
    d: new Uint8Array([1, 9]),
    e: true,
  }, out);
  deepStrictEqual(out.map((d) => d.path), ["b.c[1]", "d[1]", "e"]);
  strictEqual(out[0].reference, "0x2");
  strictEqual(out[2].reference, "(absent)");
  const none: StateDifference[] = [];
  diffValues("dev", "", { x: new Map([[1, { y: 2 }]]) }, { x: new Map([[1, { y: 2 }]]) }, none);
  deepStrictEqual(none, []);
  strictEqual(renderValue(-1), "-1");
  strictEqual(renderValue(new Uint8Array(3)), "3 bytes");
});

Deno.test("coverage follows keys, nested structures and subsections", () => {
  const c = coveredPaths(vmstateSerial);
  ok(c.has("ier") && c.has("recvFifo.data") && c.has("inputTime"));
  ok(isCovered(c, "recvFifo.data[3]"));
  ok(!isCovered(c, "recvFifo.capacity"), "configuration travels in no field");
});

Deno.test("a property left out of a description shows as uncovered, with its values", () => {
  const make = withoutField("scr");
  const a = make({ ramSize: 1 << 20 });
  const b = make({ ramSize: 1 << 20 });
  a.uart.state.serial.scr = 0x5a;
  const d = uncoveredDifferences(a, b);
  deepStrictEqual(d.map((x) => [x.device, x.path, x.reference, x.replay]), [[
    "serial",
    "serial.scr",
    "0x5a",
    "0x0",
  ]]);
  const cmp = compareMachines(a, b);
  strictEqual(cmp.equal, false);
  deepStrictEqual(cmp.sections, [], "the saved bytes are the same: the field is not in them");
});

Deno.test("state a section does not send is ignored; state it sends is compared", async () => {
  const a = new VirtMachine({ ramSize: 1 << 20 });
  const b = new VirtMachine({ ramSize: 1 << 20 });
  a.uart.state.serial.thr = 0x41; // stale transmit holding register: not sent while idle
  strictEqual(compareMachines(a, b).equal, true);
  a.uart.state.serial.lsr ^= 0x01;
  const cmp = compareMachines(a, b);
  deepStrictEqual(cmp.sections, ["serial"]);
  const named = await sectionDifferences(a, b, cmp.sections);
  deepStrictEqual(named.map((d) => d.path), ["serial.serial.lsr"]);
  ok(canonicalSections(a).has("snapshell-nvme"));
});

Deno.test("RAM differences are listed by page address", () => {
  const a = new VirtMachine({ ramSize: 1 << 20 });
  const b = new VirtMachine({ ramSize: 1 << 20 });
  deepStrictEqual(diffRam(a, b), []);
  a.ram.write(a.ram.base + 0x3004, new Uint8Array([7]));
  deepStrictEqual(diffRam(a, b), [a.ram.base + 0x3000]);
  deepStrictEqual(compareMachines(a, b).pages, [a.ram.base + 0x3000]);
});
