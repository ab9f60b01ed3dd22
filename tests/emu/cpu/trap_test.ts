import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createCpuState, PRV_M, PRV_S, PRV_U } from "../../../emu/cpu/state.ts";
import {
  Cause,
  doMret,
  doSret,
  enterTrap,
  Irq,
  MSTATUS,
  pendingInterrupt,
} from "../../../emu/cpu/trap.ts";

Deno.test("enterTrap() saves MIE in MPIE, priv in MPP, and vectors only interrupts", () => {
  const s = createCpuState();
  s.priv = PRV_U;
  s.mstatus = MSTATUS.MIE;
  s.mtvec = 0x8000_0101;
  enterTrap(s, Cause.IllegalInstruction, false, 0x1234, 0x8000_0010);
  assertEquals([s.pc, s.mepc, s.mcause, s.mtval, s.priv], [0x8000_0100, 0x8000_0010, 2, 0x1234, 3]);
  assertEquals(s.mstatus, MSTATUS.MPIE);
  enterTrap(s, Irq.MEI, true, 0, 0x8000_0100);
  assertEquals([s.pc, s.mcause], [0x8000_0100 + 44, 0x8000_000b]);
  assertEquals(s.mstatus & MSTATUS.MPP, MSTATUS.MPP);
});

Deno.test("enterTrap() delegates to S below M only, saving SIE in SPIE and priv in SPP", () => {
  const s = createCpuState();
  s.medeleg = 1 << Cause.EcallFromU;
  s.mideleg = 1 << Irq.STI;
  s.stvec = 0x8000_0201;
  s.priv = PRV_U;
  s.mstatus = MSTATUS.SIE;
  s.resValid = 1;
  s.resAddr = 0x8000_0000;
  enterTrap(s, Cause.EcallFromU, false, 0, 0x8000_0010);
  assertEquals([s.priv, s.pc, s.sepc, s.scause, s.stval], [PRV_S, 0x8000_0200, 0x8000_0010, 8, 0]);
  assertEquals(s.mstatus, MSTATUS.SPIE); // SPP = U
  assertEquals([s.resValid, s.mcause], [0, 0]); // mode change drops the reservation
  enterTrap(s, Irq.STI, true, 0, 0x8000_0200);
  assertEquals([s.pc, s.scause], [0x8000_0200 + 4 * Irq.STI, 0x8000_0005]);
  assertEquals(s.mstatus & MSTATUS.SPP, MSTATUS.SPP);
  enterTrap(s, Cause.EcallFromS, false, 0, 0x8000_0300); // not delegated: M
  assertEquals([s.priv, s.mcause, s.mepc], [PRV_M, 9, 0x8000_0300]);
  enterTrap(s, Cause.EcallFromU, false, 0, 0x8000_0400); // delegated, but from M: stays in M
  assertEquals([s.priv, s.mcause], [PRV_M, 8]);
});

Deno.test("doMret() restores MIE and priv, sets MPIE and MPP=U, keeps MPRV (QEMU 7.2)", () => {
  const s = createCpuState();
  s.mstatus = MSTATUS.MPIE | MSTATUS.MPRV; // MPP = U
  s.mepc = 0x8000_0040;
  doMret(s);
  assertEquals([s.priv, s.pc, s.mstatus], [
    PRV_U,
    0x8000_0040,
    MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPRV,
  ]);
});

Deno.test("doSret() restores SIE and priv from SPIE and SPP, then SPIE=1 and SPP=U", () => {
  const s = createCpuState();
  s.priv = PRV_S;
  s.mstatus = MSTATUS.SPIE | MSTATUS.SPP;
  s.sepc = 0x8000_0080;
  doSret(s);
  assertEquals([s.priv, s.pc, s.mstatus], [PRV_S, 0x8000_0080, MSTATUS.SIE | MSTATUS.SPIE]);
  doSret(s);
  assertEquals([s.priv, s.mstatus], [PRV_U, MSTATUS.SIE | MSTATUS.SPIE]);
});

Deno.test("pendingInterrupt(): M level before S level, lowest number first, as QEMU 7.2", () => {
  const s = createCpuState();
  s.mie = 0xaaa;
  s.mip = (1 << Irq.MEI) | (1 << Irq.MTI) | (1 << Irq.MSI) | (1 << Irq.SSI);
  s.mstatus = MSTATUS.MIE;
  assertEquals(pendingInterrupt(s), Irq.SSI); // not delegated: an M-level interrupt, bit 1
  s.mideleg = 1 << Irq.SSI;
  assertEquals(pendingInterrupt(s), Irq.MSI);
  s.mip = (1 << Irq.MEI) | (1 << Irq.MTI) | (1 << Irq.SSI);
  assertEquals(pendingInterrupt(s), Irq.MTI);
  s.mip = 1 << Irq.SSI;
  assertEquals(pendingInterrupt(s), -1); // delegated: never taken in M
  s.priv = PRV_S;
  assertEquals(pendingInterrupt(s), -1); // S mode needs SIE
  s.mstatus = MSTATUS.SIE;
  assertEquals(pendingInterrupt(s), Irq.SSI);
  s.priv = PRV_U;
  s.mstatus = 0;
  assertEquals(pendingInterrupt(s), Irq.SSI); // below S: always enabled
});

Deno.test("pendingInterrupt() honours MIE only in M mode", () => {
  const s = createCpuState();
  s.mie = s.mip = 1 << Irq.MTI;
  assertEquals(pendingInterrupt(s), -1);
  s.priv = PRV_U;
  assertEquals(pendingInterrupt(s), Irq.MTI);
  s.priv = PRV_M;
  s.mstatus = MSTATUS.MIE;
  assertEquals(pendingInterrupt(s), Irq.MTI);
});
