import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { CSR, csrAccessible, csrRead, csrWrite } from "../../../emu/cpu/csr.ts";
import { createCpuState, PRV_U } from "../../../emu/cpu/state.ts";
import { MSTATUS } from "../../../emu/cpu/trap.ts";

function host() {
  return { state: createCpuState(), readTime: () => 42 };
}

Deno.test("csrAccessible() applies the privilege and read-only bits of the CSR number", () => {
  const h = host();
  assertEquals(csrAccessible(h, CSR.mhartid, false), true);
  assertEquals(csrAccessible(h, CSR.mhartid, true), false);
  assertEquals(csrAccessible(h, 0x7c0, false), false); // not implemented
  h.state.priv = PRV_U;
  assertEquals(csrAccessible(h, CSR.mscratch, false), false);
  assertEquals(csrAccessible(h, CSR.cycle, false), false);
  h.state.mcounteren = 0b010;
  assertEquals(csrAccessible(h, CSR.time, false), true);
  assertEquals(csrAccessible(h, CSR.instret, false), false);
});

Deno.test("csrWrite() applies WARL rules: mstatus mask and MPP, mepc alignment, mtvec mode", () => {
  const h = host();
  csrWrite(h, CSR.mstatus, 0xffff_ffff);
  assertEquals(
    csrRead(h, CSR.mstatus),
    MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MPRV | MSTATUS.TW,
  );
  csrWrite(h, CSR.mstatus, 1 << 11); // MPP = S: unsupported, becomes U
  assertEquals(csrRead(h, CSR.mstatus), 0);
  csrWrite(h, CSR.mepc, 0x8000_0007);
  assertEquals(csrRead(h, CSR.mepc), 0x8000_0004);
  csrWrite(h, CSR.mtvec, 0x8000_0003);
  assertEquals(csrRead(h, CSR.mtvec), 0);
  csrWrite(h, CSR.misa, 0);
  assertEquals(csrRead(h, CSR.misa), 0x4010_1101);
  assertEquals(csrRead(h, CSR.time), 42);
});

Deno.test("locked PMP entries ignore writes", () => {
  const h = host();
  csrWrite(h, CSR.pmpaddr0, 0x1234);
  csrWrite(h, CSR.pmpcfg0, 0x9f); // L | NAPOT | RWX
  csrWrite(h, CSR.pmpcfg0, 0);
  csrWrite(h, CSR.pmpaddr0, 0);
  assertEquals([csrRead(h, CSR.pmpcfg0), csrRead(h, CSR.pmpaddr0)], [0x9f, 0x1234]);
});
