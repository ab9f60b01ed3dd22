import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { setField } from "../../../harness/store/device_state.ts";
import {
  decodedCopy,
  diffFields,
  diffMachines,
  diffRam,
  machinesEqual,
  pageRanges,
} from "../../../harness/store/machine_diff.ts";
import { demoMachine, freshMachine } from "../_machines.ts";

Deno.test("diffMachines() finds nothing between a machine and its decoded copy", async () => {
  const m = demoMachine(300_000);
  const d = diffMachines(
    await decodedCopy(m, freshMachine()),
    await decodedCopy(m, freshMachine()),
  );
  ok(machinesEqual(d), JSON.stringify(d.fields));
});

Deno.test("diffFields() names exactly the fields that were changed", async () => {
  const m = demoMachine(300_000);
  const before = await decodedCopy(m, freshMachine());
  setField(m, "cpu.env.gpr[10]", "0x1234");
  setField(m, "uart0.serial.scr", "0x5a");
  const after = await decodedCopy(m, freshMachine());
  deepStrictEqual(
    diffFields(before, after).map((f) => `${f.section} ${f.path} ${f.b}`),
    ["cpu env.gpr[10] 0x1234", "serial serial.scr 0x5a"],
  );
});

Deno.test("diffRam() lists each differing page once, and pageRanges() merges neighbours", () => {
  const a = demoMachine(), b = demoMachine();
  b.ram.u8[0x1000] ^= 1;
  b.ram.u8[0x1fff] ^= 1;
  b.ram.u8[0x2000] ^= 1;
  b.ram.u8[0x9000] ^= 1;
  const { pages } = diffRam(a, b);
  deepStrictEqual(pages, [0x8000_1000, 0x8000_2000, 0x8000_9000]);
  deepStrictEqual(pageRanges(pages), [[0x8000_1000, 0x8000_3000], [0x8000_9000, 0x8000_a000]]);
  strictEqual(machinesEqual(diffMachines(a, b)), false);
});

Deno.test("diffMachines() reports buffers by differing bytes and a RAM size mismatch", async () => {
  const a = await decodedCopy(demoMachine(300_000), freshMachine());
  const b = await decodedCopy(a, freshMachine());
  b.nvme.sections()[0].state().disk[7] = 0xee;
  const d = diffMachines(a, b);
  const disk = d.fields.find((f) => f.path === "disk")!;
  ok(disk.a.startsWith("1 byte differ, first [7]"), disk.a);
  const small = demoMachine();
  const big = freshMachine(32 << 20);
  deepStrictEqual(diffMachines(small, big).ramSize, [16 << 20, 32 << 20]);
});

Deno.test("diffRam() compares RAM of different sizes over the size both have", () => {
  const small = freshMachine(1 << 20), big = freshMachine(2 << 20);
  big.ram.u8[0x4000] = 1;
  big.ram.u8[0x18_0000] = 1; // beyond the small side: only the sizes tell
  deepStrictEqual(diffRam(small, big), { sizes: [1 << 20, 2 << 20], pages: [0x8000_4000] });
  deepStrictEqual(diffRam(big, small, 0).pages, []);
  strictEqual(machinesEqual(diffMachines(small, freshMachine(2 << 20))), false);
});

Deno.test("diffFields() leaves out subsections the stream would not carry", () => {
  const a = freshMachine(1 << 20), b = freshMachine(1 << 20);
  a.uart.state.serial.thr = 0x41; // only in a subsection that is needed while transmitting
  deepStrictEqual(diffFields(a, b), []);
  a.uart.state.serial.scr = 0x5a;
  deepStrictEqual(diffFields(a, b).map((f) => [f.section, f.path, f.a, f.b]), [
    ["serial", "serial.scr", "0x5a", "0"],
  ]);
  deepStrictEqual(diffFields(a, b, new Set(["cpu"])), []);
});
