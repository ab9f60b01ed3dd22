import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  CPU_STATE_FIELDS,
  createCpuState,
  MISA_RV32IMASU,
  PRV_M,
  resetCpuState,
} from "../../../emu/cpu/state.ts";

Deno.test("CPU_STATE_FIELDS is derived from a created state: every field once, frozen", () => {
  assertEquals(new Set(CPU_STATE_FIELDS).size, CPU_STATE_FIELDS.length);
  assertEquals(CPU_STATE_FIELDS.includes("mstatus") && CPU_STATE_FIELDS.includes("x"), true);
  assertEquals(Object.isFrozen(CPU_STATE_FIELDS), true);
});

Deno.test("the state record holds only plain numbers and typed arrays (migratable as is)", () => {
  for (const [k, v] of Object.entries(createCpuState())) {
    const ok = typeof v === "number" || ArrayBuffer.isView(v);
    assertEquals(ok, true, k);
  }
});

Deno.test("resetCpuState() returns to M mode at the reset pc with MIE clear", () => {
  const s = createCpuState(0x8000_0000, 3);
  s.priv = 0;
  s.mstatus = 0xffff_ffff;
  s.x[5] = 9;
  s.resValid = 1;
  resetCpuState(s, 0x1000);
  assertEquals([s.pc, s.priv, s.mstatus, s.x[5], s.resValid], [0x1000, PRV_M, 0, 0, 0]);
  assertEquals([s.misa, s.mhartid], [MISA_RV32IMASU, 3]);
});
