import { ok, strictEqual } from "node:assert/strict";
import {
  describeOutcome,
  EXIT_INTERRUPTED,
  ranFor,
  readRegister,
  whereNow,
} from "../../repl/machine_text.ts";
import { demoContext } from "./_io.ts";

Deno.test("describeOutcome() explains every way a run ends", async () => {
  const ctx = await demoContext();
  const m = ctx.session.machine;
  strictEqual(describeOutcome(m, { cycles: 5, insns: 2, end: "done" }, "ran").code, 0);
  strictEqual(
    describeOutcome(m, { cycles: 5, insns: 2, end: "exit", exitCode: 3 }, "").line.slice(0, 32),
    "guest exited with status 3 after",
  );
  strictEqual(
    describeOutcome(m, { cycles: 5, insns: 2, end: "interrupted" }, "").code,
    EXIT_INTERRUPTED,
  );
  strictEqual(describeOutcome(m, { cycles: 5, insns: 2, end: "limit" }, "x").error, true);
  ok(describeOutcome(m, { cycles: 5, insns: 2, end: "idle" }, "").line.includes("idle"));
  ok(whereNow(m).startsWith("pc 0x80000000, 0 instructions retired, virtual time 0 ns"));
});

Deno.test("ranFor() names cycles and instructions retired apart", () => {
  strictEqual(ranFor({ cycles: 20_000_000, insns: 1 }), "20000000 cycles (1 instruction retired)");
});

Deno.test("a run that missed its goal says it did not happen", async () => {
  const ctx = await demoContext();
  const line = describeOutcome(ctx.session.machine, { cycles: 9, insns: 3, end: "limit" }, {
    reached: '"x" appeared',
    missed: '"x" did not appear',
  }).line;
  ok(line.startsWith('"x" did not appear: gave up after 9 cycles (3 instructions retired)'), line);
  ok(!line.includes("appeared"), line);
});

Deno.test("readRegister() knows ABI names and CSRs", async () => {
  const ctx = await demoContext();
  const st = ctx.session.machine.cpu.state;
  strictEqual(readRegister(ctx, "pc"), st.pc >>> 0);
  strictEqual(readRegister(ctx, "a0"), st.x[10] >>> 0);
  strictEqual(readRegister(ctx, "x2"), readRegister(ctx, "sp"));
  strictEqual(readRegister(ctx, "fp"), readRegister(ctx, "s0"));
  strictEqual(readRegister(ctx, "mtvec"), st.mtvec >>> 0);
  strictEqual(readRegister(ctx, "x32"), undefined);
});
