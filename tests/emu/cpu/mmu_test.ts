import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Bus } from "../../../emu/bus.ts";
import { Mmu } from "../../../emu/cpu/mmu.ts";
import { createCpuState } from "../../../emu/cpu/state.ts";
import { Cause, GuestTrap } from "../../../emu/cpu/trap.ts";
import { Ram } from "../../../emu/ram.ts";

const isTrap = (cause: number, tval: number) => (e: unknown) =>
  e instanceof GuestTrap && e.cause === cause && e.tval === tval;

Deno.test("Mmu turns bus errors into access faults carrying the virtual address", () => {
  const mmu = new Mmu(createCpuState(), new Bus(new Ram(4096)));
  throws(() => mmu.load(0x10, 4, true), isTrap(Cause.LoadAccessFault, 0x10));
  throws(() => mmu.store(0x20, 1, 0), isTrap(Cause.StoreAccessFault, 0x20));
  throws(() => mmu.fetch(0x30), isTrap(Cause.InstructionAccessFault, 0x30));
  throws(() => mmu.amo(0x40, (v) => v), isTrap(Cause.StoreAccessFault, 0x40));
});

Deno.test("Mmu.load() sign- or zero-extends misaligned RAM reads", () => {
  const ram = new Ram(4096);
  ram.write(0x8000_0001, new Uint8Array([0xfe, 0xff]));
  const mmu = new Mmu(createCpuState(), new Bus(ram));
  assertEquals(mmu.load(0x8000_0001, 2, true), -2);
  assertEquals(mmu.load(0x8000_0001, 2, false), 0xfffe);
  assertEquals(mmu.isDirect(mmu.dataMode()), true);
});
