import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createCpuState, PRV_M, PRV_U } from "../../../emu/cpu/state.ts";
import { Cause, doMret, enterTrap, Irq, MSTATUS, pendingInterrupt } from "../../../emu/cpu/trap.ts";

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

Deno.test("doMret() restores MIE and priv, sets MPIE, MPP=U, clears MPRV when leaving M", () => {
  const s = createCpuState();
  s.mstatus = MSTATUS.MPIE | MSTATUS.MPRV; // MPP = U
  s.mepc = 0x8000_0040;
  doMret(s);
  assertEquals([s.priv, s.pc, s.mstatus], [PRV_U, 0x8000_0040, MSTATUS.MIE | MSTATUS.MPIE]);
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
