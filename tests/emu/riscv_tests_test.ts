/**
 * Runs every ELF in $RISCV_TESTS_DIR (upstream riscv-tests, built outside this repo and never
 * committed) and expects each to pass via HTIF: the rv32ui/um/ua/mi/si `-p-` builds (physical
 * memory, M/S/U) and, when present, the rv32ui/um/ua `-v-` builds (user code under Sv32 with
 * demand paging). Build them with riscv64-unknown-elf-gcc, -march=rv32ima_zicsr_zifencei
 * -mabi=ilp32, the suites' env/p (or env/v) link.ld and headers, as riscv-tests/isa/Makefile
 * does. Skipped when the variable is unset.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runHtif } from "./_htif.ts";

const dir = Deno.env.get("RISCV_TESTS_DIR");

/** Tests that QEMU 7.2 also fails, with the reason; they are reported, not asserted. */
const KNOWN_FAILURES: Record<string, string> = {};

const names: string[] = [];
if (dir !== undefined) {
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile && /^rv32((ui|um|ua|mi|si)-p|(ui|um|ua)-v)-[a-z0-9_-]+$/.test(e.name)) {
      names.push(e.name);
    }
  }
  names.sort();
}

Deno.test({
  name: "riscv-tests: RISCV_TESTS_DIR is set",
  ignore: dir === undefined,
  fn() {
    if (names.length === 0) throw new TypeError(`No rv32*-p-*/-v-* ELFs found in ${dir}`);
  },
});

for (const name of names) {
  Deno.test({
    name: `riscv-tests: ${name} passes`,
    ignore: dir === undefined || name in KNOWN_FAILURES,
    fn() {
      const r = runHtif(Deno.readFileSync(`${dir}/${name}`));
      assertEquals(
        { tohost: r.tohost, failedTest: r.failedTest },
        { tohost: 1, failedTest: 0 },
        `${name} failed test ${r.failedTest} after ${r.steps} steps at pc 0x${
          r.cpu.state.pc.toString(16)
        }`,
      );
    },
  });
  Deno.test({
    name: `riscv-tests: ${name} passes translated, exactly as interpreted`,
    ignore: dir === undefined || name in KNOWN_FAILURES,
    fn() {
      const elf = Deno.readFileSync(`${dir}/${name}`);
      const r = runHtif(elf, undefined, undefined, 1);
      assertEquals({ tohost: r.tohost, failedTest: r.failedTest }, { tohost: 1, failedTest: 0 });
      assert(r.cpu.translatedBlocks > 0, "nothing was translated");
      const ref = runHtif(elf);
      assertEquals(
        { steps: r.steps, instret: r.cpu.instret, pc: r.cpu.state.pc, x: [...r.cpu.state.x] },
        {
          steps: ref.steps,
          instret: ref.cpu.instret,
          pc: ref.cpu.state.pc,
          x: [...ref.cpu.state.x],
        },
      );
    },
  });
}
