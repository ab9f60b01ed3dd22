import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  Aclint,
  createMtimerState,
  createSwiState,
  vmstateRiscvAclintSwi,
  vmstateRiscvMtimer,
} from "../../../emu/devices/aclint.ts";
import {
  assertRejected,
  assertVmdescMatchesQemu,
  fakeClock,
  loadDeviceStream,
  loadQemuSection,
  roundTrip,
  saveBytes,
  saveDeviceStream,
  vmdescEntry,
} from "./_helpers.ts";

function setup() {
  const t = fakeClock();
  const mtip: boolean[] = [false];
  const msip: boolean[] = [false];
  const clint = new Aclint({
    clock: t.clock,
    timerIrq: (h, l) => (mtip[h] = l),
    softIrq: (h, l) => (msip[h] = l),
  });
  return { t, mtip, msip, clint };
}

Deno.test("mtime counts at 10 MHz of virtual time", () => {
  const { t, clint } = setup();
  t.now = 1_000_000_000n; // 1 s
  assertEquals(clint.read(0xbff8, 4), 10_000_000);
  assertEquals(clint.read(0xbffc, 4), 0);
  t.now = 1_000_000_000n * 500n; // mtime = 5e9 > 2^32
  assertEquals(clint.read(0xbffc, 4), 1);
  assertEquals(clint.read(0xbff8, 4), 5_000_000_000 - 0x1_0000_0000);
});

Deno.test("mtimecmp in the future arms a deadline; crossing it raises MTIP", () => {
  const { t, mtip, clint } = setup();
  clint.write(0x4004, 4, 0);
  clint.write(0x4000, 4, 1000); // mtime 1000 = 100 us
  assertEquals(mtip[0], false);
  assertEquals(clint.nextDeadline(), 100_000n);
  t.now = 99_999n;
  clint.tick(t.now);
  assertEquals(mtip[0], false);
  t.now = 100_000n;
  clint.tick(t.now);
  assertEquals(mtip[0], true);
  assertEquals(clint.nextDeadline(), null);
  clint.write(0x4000, 4, 5000);
  assertEquals(mtip[0], false);
  assertEquals([clint.read(0x4000, 4), clint.read(0x4004, 4)], [5000, 0]);
});

Deno.test("mtimecmp = 0 after reset means MTIP is pending at once (QEMU)", () => {
  const { mtip, clint } = setup();
  clint.reset();
  assertEquals(mtip[0], true);
});

Deno.test("writing mtime sets the offset and re-evaluates MTIP", () => {
  const { t, mtip, clint } = setup();
  t.now = 1000n; // raw mtime 10
  clint.write(0x4004, 4, 0);
  clint.write(0x4000, 4, 100);
  assertEquals(mtip[0], false);
  clint.write(0xbff8, 4, 200);
  assertEquals(mtip[0], true);
  assertEquals(clint.mtimer.timeDelta, 190n);
  assertEquals(clint.read(0xbff8, 4), 200);
});

Deno.test("msip drives MSIP and reads back bit 0", () => {
  const { msip, clint } = setup();
  clint.write(0, 4, 0xffffffff);
  assertEquals([msip[0], clint.read(0, 4)], [true, 1]);
  clint.write(0, 4, 0);
  assertEquals([msip[0], clint.read(0, 4)], [false, 0]);
});

Deno.test("vmdesc entry equals QEMU 7.2's riscv_mtimer entry", () => {
  const { clint } = setup();
  assertVmdescMatchesQemu("riscv_mtimer", vmstateRiscvMtimer, clint.mtimer);
});

Deno.test("riscv_mtimer is one be64 per hart, like QEMU's virt-running section", () => {
  const { clint } = setup();
  clint.write(0x4004, 4, 0x12);
  clint.write(0x4000, 4, 0x34567890);
  assertEquals(
    [...saveBytes(vmstateRiscvMtimer, clint.mtimer)],
    [0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x90],
  );
});

Deno.test("time_delta travels in a snapshell subsection only when non-zero", () => {
  const { clint, t } = setup();
  t.now = 1000n;
  clint.write(0xbff8, 4, 77);
  const entry = JSON.parse(vmdescEntry("riscv_mtimer", vmstateRiscvMtimer, clint.mtimer));
  assertEquals(entry.subsections[0].vmsd_name, "riscv_mtimer/snapshell-time-delta");
  assertEquals(
    roundTrip(vmstateRiscvMtimer, clint.mtimer, createMtimerState()),
    clint.mtimer,
  );
});

Deno.test("riscv_aclint_swi (snapshell section) round-trips msip", () => {
  const { clint } = setup();
  clint.write(0, 4, 1);
  assertEquals(
    JSON.parse(vmdescEntry("riscv_aclint_swi", vmstateRiscvAclintSwi, clint.swi)).fields,
    [{ name: "msip", type: "uint32", size: 4 }],
  );
  assertEquals(roundTrip(vmstateRiscvAclintSwi, clint.swi, createSwiState()), clint.swi);
});

Deno.test("loading re-derives MTIP and MSIP and drops a stale offset", async () => {
  const a = setup();
  a.clint.write(0, 4, 1);
  a.clint.write(0x4000, 4, 50);
  const bytes = await saveDeviceStream(a.clint);
  const b = setup();
  b.t.now = 10_000n; // mtime 100 >= 50
  b.clint.write(0xbff8, 4, 5); // offset the stream does not carry
  b.clint.write(0x4000, 4, 1000);
  await loadDeviceStream(b.clint, bytes);
  assertEquals([b.msip[0], b.mtip[0], b.clint.mtimer.timeDelta], [true, true, 0n]);
});

Deno.test("postLoad rejects an msip other than 0/1 and leaves the device alone", async () => {
  const bad = setup();
  bad.clint.swi.msip[0] = 2;
  await assertRejected(bad.clint, setup().clint, /msip\[0\] is 2/);
});

Deno.test("loads the riscv_mtimer section of QEMU 7.2's virt-running stream", () => {
  const { clint, mtip } = setup();
  const staged = structuredClone(clint.mtimer);
  loadQemuSection("riscv_mtimer", vmstateRiscvMtimer, staged);
  clint.sections()[0].commit!(staged);
  assertEquals(clint.mtimer.timecmp, [0x1234567890n]);
  assertEquals(mtip[0], false);
});

Deno.test("qemuTimer: a write arms QEMU's timer from the rounded-down mtime; a load re-arms; reset arms nothing", () => {
  const t = fakeClock();
  const mtip: boolean[] = [false];
  const clint = new Aclint({ clock: t.clock, timerIrq: (h, l) => (mtip[h] = l), qemuTimer: true });
  clint.reset();
  assertEquals(mtip[0], false, "QEMU raises nothing at reset, though mtimecmp 0 <= mtime");
  assertEquals(clint.nextDeadline(), null);
  t.now = 150n; // mtime 1 (rounded down from 1.5)
  clint.write(0x4004, 4, 0);
  clint.write(0x4000, 4, 5); // mtimecmp 5: QEMU arms now + (5 - 1) x 100 ns
  assertEquals(clint.nextDeadline(), 550n, "not 500 ns, where mtime reaches 5");
  clint.tick(500n);
  assertEquals(mtip[0], false, "mtime has reached mtimecmp, QEMU's timer has not fired");
  clint.tick(550n);
  assertEquals(mtip[0], true);
  assertEquals(clint.nextDeadline(), null);
  t.now = 600n;
  clint.write(0x4000, 4, 3); // in the past: raised at once, nothing armed
  assertEquals([mtip[0], clint.nextDeadline()], [true, null]);
  clint.write(0x4000, 4, 20); // ahead again: lowered, armed
  assertEquals([mtip[0], clint.nextDeadline()], [false, 600n + 1400n]);
  // A load re-arms from the loaded mtimecmp at the load's time (QEMU 7.2 would arm nothing).
  const other = new Aclint({ clock: t.clock, qemuTimer: true });
  other.write(0x4000, 4, 40);
  t.now = 1_234n; // mtime 12
  clint.sections()[0].commit!(structuredClone(other.mtimer));
  assertEquals(clint.nextDeadline(), 1_234n + (40n - 12n) * 100n);
});
