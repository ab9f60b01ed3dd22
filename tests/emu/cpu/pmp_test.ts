import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  Pmp,
  PMP_L,
  PMP_R,
  PMP_RWX,
  PMP_W,
  PMP_X,
  writePmpaddr,
  writePmpcfg,
} from "../../../emu/cpu/pmp.ts";
import { createCpuState, PRV_M, PRV_S, PRV_U } from "../../../emu/cpu/state.ts";

const NA4 = 2 << 3, NAPOT = 3 << 3, TOR = 1 << 3;

Deno.test("no rule: M may do everything, S and U nothing (QEMU 7.2)", () => {
  const pmp = new Pmp(createCpuState());
  assertEquals(pmp.numRules, 0);
  assertEquals(pmp.allowed(0x8000_0000, 4, PRV_M), PMP_RWX);
  assertEquals(pmp.allowed(0x8000_0000, 4, PRV_S), 0);
  assertEquals(pmp.allowed(0x8000_0000, 4, PRV_U), 0);
});

Deno.test("the lowest matching entry decides; NA4, NAPOT and TOR ranges", () => {
  const s = createCpuState();
  s.pmpaddr[0] = 0x8000_0000 >>> 2; // NA4 at 0x80000000, R
  s.pmpcfg[0] = NA4 | PMP_R;
  s.pmpaddr[1] = (0x8000_0000 >>> 2) | 0x1ff; // NAPOT 4 KiB at 0x80000000, RW
  s.pmpcfg[1] = NAPOT | PMP_R | PMP_W;
  s.pmpaddr[2] = 0x8000_2000 >>> 2; // TOR from pmpaddr1 << 2 (0x800007fc, as written) up to here
  s.pmpcfg[2] = TOR | PMP_X;
  const pmp = new Pmp(s);
  assertEquals(pmp.numRules, 3);
  assertEquals(pmp.allowed(0x8000_0000, 4, PRV_S), PMP_R);
  assertEquals(pmp.allowed(0x8000_0004, 4, PRV_S), PMP_R | PMP_W);
  assertEquals(pmp.allowed(0x8000_0002, 4, PRV_S), -1); // partly inside the NA4 entry
  assertEquals(pmp.allowed(0x8000_1ffc, 4, PRV_U), PMP_X);
  assertEquals(pmp.allowed(0x8000_1ffe, 4, PRV_U), -1); // runs past the TOR top
  assertEquals(pmp.allowed(0x8000_2000, 4, PRV_U), 0); // past every entry
  assertEquals(pmp.allowed(0x8000_0004, 4, PRV_M), PMP_RWX); // unlocked entries spare M
});

Deno.test("a locked entry binds M mode and ignores writes; a locked TOR guards pmpaddr below", () => {
  const s = createCpuState();
  writePmpaddr(s, 0, 0x1000);
  writePmpaddr(s, 1, 0x2000);
  writePmpcfg(s, 0, (PMP_L | TOR | PMP_R) << 8); // entry 1: locked TOR [0x4000, 0x8000), R
  const pmp = new Pmp(s);
  assertEquals(pmp.anyLocked, true);
  assertEquals(pmp.allowed(0x4000, 4, PRV_M), PMP_R);
  writePmpaddr(s, 0, 0x3000);
  writePmpaddr(s, 1, 0x3000);
  writePmpcfg(s, 0, 0x0f0f);
  assertEquals([s.pmpaddr[0], s.pmpaddr[1], s.pmpcfg[0], s.pmpcfg[1]], [
    0x1000,
    0x2000,
    0x0f, // entry 0 is not locked: QEMU 7.2 stores the byte as written
    PMP_L | TOR | PMP_R,
  ]);
});

Deno.test("uniformPage() is false when an entry boundary falls inside the page", () => {
  const s = createCpuState();
  s.pmpaddr[0] = (0x8000_0800 >>> 2) | 0xff; // NAPOT 2 KiB inside the page at 0x80000000
  s.pmpcfg[0] = NAPOT;
  s.pmpaddr[1] = 0xffff_ffff; // NAPOT over everything
  s.pmpcfg[1] = NAPOT | PMP_R | PMP_W | PMP_X;
  const pmp = new Pmp(s);
  assertEquals(pmp.uniformPage(0x8000_0000), false);
  assertEquals(pmp.uniformPage(0x8000_1000), true);
  assertEquals(pmp.allowed(0x8000_1000, 4, PRV_S), PMP_RWX);
});
