import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { copyCpuState, forkMachine } from "../../../harness/replay/fork.ts";
import { compareMachines } from "../../../harness/replay/state_diff.ts";
import { createCpuState } from "../../../emu/cpu/state.ts";
import { booted, withoutField } from "./_builds.ts";

Deno.test("a fork runs exactly as its original, and leaves it alone", async () => {
  const m = await booted(250_000);
  const f = forkMachine(m);
  strictEqual(compareMachines(m, f).equal, true);
  strictEqual(f.consoleText, m.consoleText);
  const at = m.cpu.instret;
  f.run(400_000);
  strictEqual(m.cpu.instret, at);
  m.run(400_000);
  strictEqual(compareMachines(m, f).equal, true);
  strictEqual(f.consoleText, m.consoleText);
});

Deno.test("a fork keeps state the description leaves out (a save/load would lose it)", async () => {
  const make = withoutField("ier");
  const m = await booted(250_000, make);
  const f = forkMachine(m, make);
  strictEqual(f.uart.state.serial.ier, m.uart.state.serial.ier);
});

Deno.test("copyCpuState copies every field, typed arrays by value", () => {
  const a = createCpuState();
  a.x[5] = 42;
  a.pmpaddr[3] = 9;
  a.mepc = 0x1234;
  const b = createCpuState();
  copyCpuState(a, b);
  deepStrictEqual(b, a);
  a.x[5] = 1;
  strictEqual(b.x[5], 42);
});
