import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  CpuTimers,
  createTimersState,
  vmstateTimers,
} from "../../../../emu/devices/qemu/cpu_timers.ts";
import { assertRejected, saveBytes } from "../_helpers.ts";
import { assertEntryMatches, loadAndResave } from "./_qemu.ts";

Deno.test("without icount the section is three int64-sized fields and no subsection", () => {
  const s = createTimersState(0);
  s.cpuTicksOffset = -5n;
  assertEquals(saveBytes(vmstateTimers, s).length, 24);
  assertEntryMatches("virt-running", "timer", vmstateTimers, s);
});

Deno.test("with -icount shift=0 the vmdesc carries timer/icount and its warp timer", () => {
  assertEntryMatches("virt-icount", "timer", vmstateTimers, createTimersState(1));
});

Deno.test("shift=auto adds the adjust timers and the shift subsection", () => {
  const s = createTimersState(2, 3);
  // A subsection is 0x05, name length, name, be32 version, fields: 24 + icount (18 + 16)
  // + warp_timer (29 + 16) + timers (25 + 16) + shift (24 + 10), every optional part present.
  const bytes = saveBytes(vmstateTimers, s);
  assertEquals(bytes.length, 24 + 18 + 16 + 29 + 16 + 25 + 16 + 24 + 10);
});

Deno.test("QEMU's timer sections load and save back byte for byte", () => {
  const plain = loadAndResave("virt-running", "timer", vmstateTimers, createTimersState(0));
  assertEquals(plain.cpuClockOffset > 0n, true);
  const ic = loadAndResave("virt-icount", "timer", vmstateTimers, createTimersState(1));
  // hello.elf ran and parked in wfi: QEMU counted its instructions, the warp timer is armed.
  assertEquals([ic.qemuIcount > 0n, ic.icountWarpTimer > 0n], [true, true]);
  loadAndResave("virt-reset", "timer", vmstateTimers, createTimersState(0));
});

Deno.test("postLoad rejects a negative instruction count and a bad shift", async () => {
  const a = new CpuTimers(1);
  a.state.qemuIcount = -1n;
  await assertRejected(a, new CpuTimers(1), /qemu_icount is -1/);
  const b = new CpuTimers(2, 3);
  b.state.icountTimeShift = 11;
  await assertRejected(b, new CpuTimers(2), /outside 0\.\.10/);
  const c = new CpuTimers(1);
  c.state.icountWarpTimer = -2n;
  await assertRejected(c, new CpuTimers(1), /deadline is -1 or >= 0/);
});
