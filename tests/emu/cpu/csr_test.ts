import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { CSR, csrAccessible, csrRead, csrWrite } from "../../../emu/cpu/csr.ts";
import { createCpuState, PRV_S, PRV_U } from "../../../emu/cpu/state.ts";
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
  assertEquals(csrAccessible(h, CSR.time, false), false); // U also needs scounteren
  h.state.scounteren = 0b010;
  assertEquals(csrAccessible(h, CSR.time, false), true);
  assertEquals(csrAccessible(h, CSR.instret, false), false);
  h.state.priv = PRV_S;
  h.state.scounteren = 0;
  assertEquals(csrAccessible(h, CSR.time, false), true); // S needs mcounteren only
  assertEquals(csrAccessible(h, CSR.sstatus, true), true);
  assertEquals(csrAccessible(h, CSR.mstatus, false), false);
  assertEquals(csrAccessible(h, CSR.satp, true), true);
  h.state.mstatus = MSTATUS.TVM;
  assertEquals(csrAccessible(h, CSR.satp, false), false); // TVM traps satp in S mode
});

Deno.test("unimplemented CSRs OpenSBI probes are missing; PMU counters 3..18 exist", () => {
  const h = host();
  for (const num of [0x747, 0xfb0, 0x14d, 0x30c, 0xda0, 0x015]) { // mseccfg mtopi stimecmp ...
    assertEquals(csrAccessible(h, num, false), false, `0x${num.toString(16)}`);
  }
  assertEquals(csrAccessible(h, 0xb12, false), true); // mhpmcounter18
  assertEquals(csrAccessible(h, 0xb13, false), false); // mhpmcounter19: pmu-num=16
  assertEquals(csrAccessible(h, 0xc92, false), true); // hpmcounter18h
  assertEquals(csrAccessible(h, 0xc93, false), false);
});

Deno.test("sstatus, sie and sip are views of mstatus, mie and mip", () => {
  const h = host();
  const s = h.state;
  csrWrite(h, CSR.sstatus, 0xffff_ffff);
  assertEquals(
    s.mstatus,
    MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.VS | MSTATUS.SUM | MSTATUS.MXR,
  );
  assertEquals(csrRead(h, CSR.sstatus), (s.mstatus | MSTATUS.SD) >>> 0); // VS=3 sets SD
  csrWrite(h, CSR.mie, 0xffff_ffff);
  assertEquals(csrRead(h, CSR.sie), 0); // nothing delegated
  csrWrite(h, CSR.mideleg, 0xffff_ffff);
  assertEquals(s.mideleg, 0x2666); // SSI STI SEI LCOFI + the VS bits QEMU 7.2 keeps
  assertEquals(csrRead(h, CSR.sie), 0x2222);
  csrWrite(h, CSR.sie, 0);
  assertEquals(s.mie, 0x2eee & ~0x2222);
  csrWrite(h, CSR.mip, 0xffff_ffff);
  assertEquals(s.mip, 0x2666); // M bits belong to devices
  csrWrite(h, CSR.sip, 0);
  assertEquals(s.mip, 0x2666 & ~0x2002); // S mode writes SSIP (and LCOFIP) only
  assertEquals(csrRead(h, CSR.sip), 0x0220);
});

Deno.test("medeleg keeps QEMU 7.2's delegable exceptions; satp keeps every bit", () => {
  const h = host();
  csrWrite(h, CSR.medeleg, 0xffff_ffff);
  assertEquals(csrRead(h, CSR.medeleg), 0x00f0_bbff);
  csrWrite(h, CSR.satp, 0x8040_0123);
  assertEquals(csrRead(h, CSR.satp), 0x8040_0123);
});

Deno.test("csrWrite() applies WARL rules: mstatus mask and MPP, mepc alignment, mtvec mode", () => {
  const h = host();
  csrWrite(h, CSR.mstatus, 0xffff_ffff);
  assertEquals(csrRead(h, CSR.mstatus), 0x807e_1faa); // SD + every writable bit, FS/XS stay 0
  csrWrite(h, CSR.mstatus, 2 << 11); // MPP = 2 is reserved: becomes U
  assertEquals(csrRead(h, CSR.mstatus), 0);
  csrWrite(h, CSR.mstatus, 1 << 11); // MPP = S
  assertEquals(csrRead(h, CSR.mstatus), 1 << 11);
  csrWrite(h, CSR.mepc, 0x8000_0007);
  assertEquals(csrRead(h, CSR.mepc), 0x8000_0004);
  csrWrite(h, CSR.mtvec, 0x8000_0003);
  assertEquals(csrRead(h, CSR.mtvec), 0);
  csrWrite(h, CSR.misa, 0);
  assertEquals(csrRead(h, CSR.misa), 0x4014_1101);
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
