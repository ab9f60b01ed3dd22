import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { vmstateSerial } from "../../../emu/devices/uart16550.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import {
  canonicalSections,
  compareMachines,
  coveredPaths,
  diffValues,
  isCovered,
  sectionDifferences,
  type StateDifference,
  uncoveredDifferences,
} from "../../../harness/replay/state_diff.ts";
import { setField } from "../../../harness/store/device_state.ts";
import { diffMachines, machinesEqual } from "../../../harness/store/machine_diff.ts";
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
  strictEqual(out[0].reference, "2");
  strictEqual(out[2].reference, "(absent)");
  const none: StateDifference[] = [];
  diffValues("dev", "", { x: new Map([[1, { y: 2 }]]) }, { x: new Map([[1, { y: 2 }]]) }, none);
  deepStrictEqual(none, []);
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
    "0",
  ]]);
  const cmp = compareMachines(a, b);
  strictEqual(cmp.equal, false);
  deepStrictEqual(cmp.sections, [], "the saved bytes are the same: the field is not in them");
});

Deno.test("state a section does not send is ignored; state it sends is compared", () => {
  const a = new VirtMachine({ ramSize: 1 << 20 });
  const b = new VirtMachine({ ramSize: 1 << 20 });
  a.uart.state.serial.thr = 0x41; // stale transmit holding register: not sent while idle
  strictEqual(compareMachines(a, b).equal, true);
  a.uart.state.serial.lsr ^= 0x01;
  const cmp = compareMachines(a, b);
  deepStrictEqual(cmp.sections, ["serial"]);
  const named = sectionDifferences(a, b, cmp.sections);
  deepStrictEqual(named.map((d) => [d.device, d.path]), [["serial", "serial.lsr"]]);
  ok(canonicalSections(a).has("snapshell-nvme"));
});

Deno.test("RAM differences are listed by page address", () => {
  const a = new VirtMachine({ ramSize: 1 << 20 });
  const b = new VirtMachine({ ramSize: 1 << 20 });
  deepStrictEqual(compareMachines(a, b).pages, []);
  a.ram.write(a.ram.base + 0x3004, new Uint8Array([7]));
  deepStrictEqual(compareMachines(a, b).pages, [a.ram.base + 0x3000]);
});

Deno.test("RAM of different sizes is a named difference, pages compared over the common size", () => {
  const a = new VirtMachine({ ramSize: 1 << 20 });
  const b = new VirtMachine({ ramSize: 2 << 20 });
  b.ram.write(b.ram.base + 0x5000, new Uint8Array([1]));
  const cmp = compareMachines(a, b);
  strictEqual(cmp.equal, false);
  deepStrictEqual(cmp.ramSize, {
    device: "ram",
    path: "size",
    reference: "1.0 MiB",
    replay: "2.0 MiB",
  });
  deepStrictEqual(cmp.pages, [a.ram.base + 0x5000]);
});

Deno.test("the store's diff and replay's comparison give the same answer on the same machines", () => {
  const edits: [string, (m: VirtMachine) => void][] = [
    ["nothing", () => {}],
    ["a register", (m) => setField(m, "cpu.env.gpr[10]", "0x1234")],
    ["a negative-looking value", (m) => setField(m, "cpu.env.gpr[11]", "0xffffffff")],
    ["a UART field", (m) => setField(m, "uart0.serial.scr", "7")],
    ["a disk byte", (m) => void (m.nvme.disk[9] = 0xee)],
    ["a RAM page", (m) => m.ram.write(m.ram.base + 0x7000, new Uint8Array([1]))],
  ];
  for (const [what, edit] of edits) {
    const a = new VirtMachine({ ramSize: 1 << 20 });
    const b = new VirtMachine({ ramSize: what === "a RAM page" ? 2 << 20 : 1 << 20 });
    edit(b);
    const store = diffMachines(a, b);
    const cmp = compareMachines(a, b);
    const replayFields = sectionDifferences(a, b, cmp.sections, Infinity)
      .map((d) => [d.device, d.path, d.reference, d.replay]);
    deepStrictEqual(replayFields, store.fields.map((f) => [f.section, f.path, f.a, f.b]), what);
    deepStrictEqual(cmp.pages, store.pages, what);
    strictEqual(cmp.ramSize !== undefined, store.ramSize[0] !== store.ramSize[1], what);
    strictEqual(cmp.equal, machinesEqual(store), what);
    strictEqual(cmp.equal, what === "nothing", what);
  }
});
