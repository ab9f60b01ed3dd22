import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createRtcState,
  DEFAULT_RTC_EPOCH_NS,
  GoldfishRtc,
  vmstateGoldfishRtc,
} from "../../../emu/devices/goldfish_rtc.ts";
import {
  assertRejected,
  assertVmdescMatchesQemu,
  fakeClock,
  irqProbe,
  loadBytes,
  loadDeviceStream,
  loadQemuSection,
  roundTrip,
  saveBytes,
  saveDeviceStream,
} from "./_helpers.ts";

function setup(epochNs = 0n) {
  const t = fakeClock();
  const irq = irqProbe();
  const rtc = new GoldfishRtc({ clock: t.clock, irq: irq.line, epochNs });
  return { t, irq, rtc };
}

function readTime(rtc: GoldfishRtc): bigint {
  const lo = BigInt(rtc.read(0x00, 4));
  return (BigInt(rtc.read(0x04, 4)) << 32n) | lo;
}

Deno.test("the counter is epoch + virtual ns; TIME_LOW latches TIME_HIGH", () => {
  const { t, rtc } = setup(DEFAULT_RTC_EPOCH_NS);
  t.now = 123n;
  assertEquals(readTime(rtc), DEFAULT_RTC_EPOCH_NS + 123n);
  const hi = rtc.read(0x04, 4);
  t.now = 1n << 40n;
  assertEquals(rtc.read(0x04, 4), hi); // not re-latched until TIME_LOW is read
});

Deno.test("writing TIME_HIGH/TIME_LOW moves the counter", () => {
  const { t, rtc } = setup();
  t.now = 1000n;
  rtc.write(0x04, 4, 2);
  rtc.write(0x00, 4, 5);
  assertEquals(readTime(rtc), (2n << 32n) | 5n);
  t.now = 1500n;
  assertEquals(readTime(rtc), ((2n << 32n) | 5n) + 500n);
});

Deno.test("an alarm fires at its virtual deadline and raises the enabled interrupt", () => {
  const { t, rtc, irq } = setup();
  rtc.write(0x10, 4, 1);
  rtc.write(0x0c, 4, 0);
  rtc.write(0x08, 4, 5000);
  assertEquals([rtc.read(0x18, 4), rtc.nextDeadline()], [1, 5000n]);
  t.now = 4999n;
  rtc.tick(t.now);
  assertEquals(irq.level, false);
  t.now = 5000n;
  rtc.tick(t.now);
  assertEquals([irq.level, rtc.read(0x18, 4), rtc.nextDeadline()], [true, 0, null]);
  rtc.write(0x1c, 4, 1);
  assertEquals(irq.level, false);
});

Deno.test("an alarm in the past fires at once; CLEAR_ALARM disarms", () => {
  const { t, rtc } = setup();
  t.now = 100n;
  rtc.write(0x08, 4, 50);
  assertEquals(rtc.state.irqPending, 1);
  rtc.write(0x08, 4, 500);
  rtc.write(0x14, 4, 1);
  assertEquals(rtc.nextDeadline(), null);
});

Deno.test("vmdesc entry equals QEMU 7.2's goldfish_rtc entry", () => {
  const { rtc } = setup();
  assertVmdescMatchesQemu("goldfish_rtc", vmstateGoldfishRtc, rtc.state);
});

Deno.test("state round-trips; tick_offset_vmstate is sent as 0", () => {
  const { rtc, t } = setup(DEFAULT_RTC_EPOCH_NS);
  t.now = 10n;
  rtc.write(0x08, 4, 0xffffffff);
  rtc.write(0x10, 4, 1);
  readTime(rtc);
  const bytes = saveBytes(vmstateGoldfishRtc, rtc.state);
  assertEquals(bytes.length, 40);
  assertEquals([...bytes.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(roundTrip(vmstateGoldfishRtc, rtc.state, createRtcState()), rtc.state);
});

Deno.test("a version 2 stream takes its clock base from tick_offset_vmstate", () => {
  const v2 = new Uint8Array(32);
  v2[7] = 0x42; // tick_offset_vmstate = 0x42
  const into = createRtcState();
  loadBytes(vmstateGoldfishRtc, into, v2, 2);
  assertEquals(into.tickOffset, 0x42n);
});

Deno.test("loading re-arms a running alarm and re-drives the line", async () => {
  const a = setup();
  a.rtc.write(0x10, 4, 1);
  a.rtc.write(0x08, 4, 9000);
  const bytes = await saveDeviceStream(a.rtc);
  const b = setup();
  await loadDeviceStream(b.rtc, bytes);
  assertEquals(b.rtc.nextDeadline(), 9000n);
  b.t.now = 9000n;
  b.rtc.tick(b.t.now);
  assertEquals(b.irq.level, true);
});

Deno.test("postLoad rejects flags other than 0/1 and unreachable alarm deadlines", async () => {
  const bad = setup();
  bad.rtc.state.irqEnabled = 3;
  await assertRejected(bad.rtc, setup().rtc, /irq_enabled is 3/);
  const bad2 = setup();
  bad2.rtc.state.alarmRunning = 1;
  bad2.rtc.state.alarmNext = 1n << 63n;
  await assertRejected(bad2.rtc, setup().rtc, /Alarm deadline/);
});

Deno.test("loads the goldfish_rtc section of QEMU 7.2's virt-running stream", () => {
  const { rtc } = setup();
  const staged = structuredClone(rtc.state);
  loadQemuSection("goldfish_rtc", vmstateGoldfishRtc, staged);
  rtc.commit(staged);
  // tick_offset = wall-clock seconds * 1e9 - host clock ns: 0xffffffff........ in the fixture.
  assertEquals(rtc.state.tickOffset >> 32n, 0xffffffffn);
  assertEquals([rtc.state.alarmRunning, rtc.state.irqPending, rtc.nextDeadline()], [0, 0, null]);
});
