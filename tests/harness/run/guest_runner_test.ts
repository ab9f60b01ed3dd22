import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { cyclesForNs, GuestRun, runInstructions } from "../../../harness/run/guest_runner.ts";
import { diffMachines, machinesEqual } from "../../../harness/store/machine_diff.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { demoMachine } from "../_machines.ts";

const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;

Deno.test("cyclesForNs() converts virtual time at 10 ns per cycle, rounding up", () => {
  strictEqual(cyclesForNs(1_000_000n), 100_000);
  strictEqual(cyclesForNs(15n), 2);
});

Deno.test("GuestRun of N cycles ends where one machine.run(N) ends, whatever the chunk size", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300_000 }),
      fc.integer({ min: 997, max: 50_000 }),
      async (count, chunk) => {
        const a = demoMachine(), b = demoMachine();
        a.run(count);
        const o = await new GuestRun(b, { kind: "cycles", count }, { chunk }).done;
        deepStrictEqual(o, { cycles: count, end: "done", insns: b.cpu.instret });
        strictEqual(a.cpu.instret, b.cpu.instret);
        ok(machinesEqual(diffMachines(a, b)));
      },
    ),
    { numRuns: 8 },
  );
});

Deno.test("GuestRun until stops at the same place every time, and gives up at its limit", async () => {
  const ends: number[] = [];
  for (let i = 0; i < 2; i++) {
    const m = demoMachine();
    const o = await new GuestRun(m, {
      kind: "until",
      test: () => m.consoleText.includes("heartbeat every"),
      maxCycles: 1e9,
    }).done;
    strictEqual(o.end, "done");
    ends.push(m.cpu.instret);
  }
  strictEqual(ends[0], ends[1]);
  const m = demoMachine();
  const o = await new GuestRun(m, { kind: "until", test: () => false, maxCycles: 50_000 }).done;
  deepStrictEqual(o, { cycles: 50_000, end: "limit", insns: m.cpu.instret });
});

Deno.test("GuestRun reports the guest's exit", async () => {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(`${GUESTS}hello.elf`));
  const o = await new GuestRun(m, { kind: "forever" }).done;
  strictEqual(o.end, "exit");
  strictEqual(o.exitCode, 0);
  strictEqual(m.consoleText, "Hello from snapshell guest\n");
});

Deno.test("GuestRun.stop() ends a forever run at the next chunk", async () => {
  const started: { run?: GuestRun } = {};
  const m = new VirtMachine({
    ramSize: 16 << 20,
    console: () => {
      if (m.consoleText.includes("heartbeat every")) started.run?.stop();
    },
  });
  m.boot(await Deno.readFile(`${GUESTS}demo.elf`));
  const run = started.run = new GuestRun(m, { kind: "forever" }, { chunk: 1000 });
  const o = await run.done;
  strictEqual(o.end, "interrupted");
  strictEqual(run.running, false);
  ok(o.cycles > 0);
});

Deno.test("a forever run waits while the guest is idle and goes on after wake()", async () => {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(`${GUESTS}uart-echo.elf`));
  let idles = 0;
  const run: GuestRun = new GuestRun(m, { kind: "forever" }, {
    onIdle: () => {
      idles++;
      m.sendInput(idles === 1 ? "abc\r" : "q");
      run.wake();
    },
  });
  const o = await run.done;
  strictEqual(o.end, "exit");
  ok(idles >= 2);
  ok(m.consoleText.includes("ABC"), m.consoleText);
});

Deno.test("a bounded run of an idle guest ends as idle", async () => {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(`${GUESTS}uart-echo.elf`));
  const o = await new GuestRun(m, { kind: "cycles", count: 1e9 }).done;
  strictEqual(o.end, "idle");
});

Deno.test("a paced run ends in the same state as an unpaced one", async () => {
  const a = demoMachine(), b = demoMachine();
  await new GuestRun(a, { kind: "cycles", count: 200_000 }).done;
  await new GuestRun(b, { kind: "cycles", count: 200_000 }, { paced: true }).done;
  ok(machinesEqual(diffMachines(a, b)));
});

Deno.test("runInstructions() retires exactly N instructions, however long the guest idles", () => {
  const m = demoMachine();
  const r = runInstructions(m, 100_000);
  strictEqual(r.stop, "done");
  strictEqual(r.insns, 100_000);
  strictEqual(m.cpu.instret, 100_000);
  ok(r.cycles > r.insns, `the demo guest waits in WFI: ${r.cycles} cycles`);
  const again = demoMachine();
  runInstructions(again, 40_000);
  runInstructions(again, 60_000);
  ok(machinesEqual(diffMachines(m, again)), "in two calls it ends at the same place");
});

Deno.test("runInstructions() says when the hart traps without ever retiring", () => {
  const m = new VirtMachine({ ramSize: 16 << 20 }); // nothing booted: RAM of zeros traps forever
  const r = runInstructions(m, 10);
  strictEqual(r.stop, "stuck");
  strictEqual(r.insns, 0);
});
