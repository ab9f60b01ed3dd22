import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  createSerialRegs,
  LSR_DR,
  LSR_TEMT,
  LSR_THRE,
  Uart16550,
  vmstateUart16550,
} from "../../../emu/devices/uart16550.ts";
import {
  assertRejected,
  assertVmdescMatchesQemu,
  fakeClock,
  irqProbe,
  loadDeviceStream,
  loadQemuSection,
  roundTrip,
  saveBytes,
  saveDeviceStream,
  vmdescEntry,
} from "./_helpers.ts";

function setup() {
  const t = fakeClock();
  const irq = irqProbe();
  const out: number[] = [];
  const uart = new Uart16550({ clock: t.clock, irq: irq.line, output: (b) => out.push(b) });
  return { t, irq, out, uart };
}

const text = (bytes: number[]) => new TextDecoder().decode(new Uint8Array(bytes));

Deno.test("reset values match QEMU's serial_reset (virt-reset fixture)", () => {
  const { uart } = setup();
  const s = uart.state.serial;
  // analyze.json of virt-reset: divider 000c, ier 00, iir 01, lcr 00, mcr 08, lsr 60, msr b0.
  assertEquals(
    [s.divider, s.ier, s.iir, s.lcr, s.mcr, s.lsr, s.msr, s.scr],
    [0x0c, 0, 1, 0, 8, 0x60, 0xb0, 0],
  );
});

Deno.test("THR writes go to the sink at once and leave the transmitter empty", () => {
  const { uart, out } = setup();
  for (const c of "hi\n") uart.write(0, 1, c.charCodeAt(0));
  assertEquals(text(out), "hi\n");
  assertEquals(uart.read(5, 1) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
});

Deno.test("the hello.S programming sequence ends in QEMU's register values", () => {
  const { uart, out } = setup();
  uart.write(3, 1, 0x80); // DLAB
  uart.write(0, 1, 0x01);
  uart.write(1, 1, 0x00);
  uart.write(3, 1, 0x03);
  uart.write(2, 1, 0x07);
  uart.write(4, 1, 0x0b);
  uart.write(7, 1, 0xa5);
  uart.write(1, 1, 0x01);
  for (const c of "hello\n") uart.write(0, 1, c.charCodeAt(0));
  const s = uart.state.serial;
  assertEquals(text(out), "hello\n");
  // virt-running analyze.json: divider 0001 ier 01 iir c1 lcr 03 mcr 0b lsr 60 msr b0 scr a5.
  assertEquals(
    [s.divider, s.ier, s.iir, s.lcr, s.mcr, s.lsr, s.msr, s.scr, s.fcr],
    [1, 1, 0xc1, 3, 0x0b, 0x60, 0xb0, 0xa5, 0x01],
  );
});

Deno.test("DLAB exposes the divisor latch at offsets 0 and 1", () => {
  const { uart } = setup();
  uart.write(3, 1, 0x80);
  uart.write(0, 1, 0x34);
  uart.write(1, 1, 0x12);
  assertEquals([uart.read(0, 1), uart.read(1, 1)], [0x34, 0x12]);
  uart.write(3, 1, 0x03);
  assertEquals(uart.state.serial.divider, 0x1234);
  assertEquals(uart.read(1, 1), 0);
});

Deno.test("THRE interrupt: raised when enabled, cleared by reading IIR", () => {
  const { uart, irq } = setup();
  uart.write(1, 1, 0x02);
  assertEquals(irq.level, true);
  assertEquals(uart.read(2, 1) & 0x0f, 0x02);
  assertEquals(irq.level, false);
  assertEquals(uart.read(2, 1) & 0x0f, 0x01);
});

Deno.test("input bytes become receivable at their virtual time, one character apart", () => {
  const { uart, t, irq } = setup();
  uart.write(1, 1, 0x01); // RDI, no FIFO
  const step = uart.charTransmitTime();
  // divisor 12 at baud base 399193, 7-bit frames (start + 5 data bits + stop after reset)
  assertEquals(step, (1_000_000_000n * 12n * 7n) / 399193n);
  uart.pushInput("ab", 1000n);
  assertEquals(uart.nextDeadline(), 1000n);
  assertEquals(uart.read(5, 1) & LSR_DR, 0);
  t.now = 1000n;
  uart.tick(t.now);
  assertEquals(irq.level, true);
  assertEquals(uart.read(2, 1) & 0x0f, 0x04);
  // Non-FIFO mode holds one byte: the second waits until RBR is read.
  assertEquals(uart.nextDeadline(), null);
  t.now = 1000n + step;
  assertEquals(uart.read(0, 1), 0x61);
  assertEquals(uart.read(0, 1), 0x62);
  assertEquals(uart.read(5, 1) & LSR_DR, 0);
  assertEquals(irq.level, false);
  assertEquals(uart.pendingInput, 0);
});

Deno.test("FIFO mode: trigger level, character timeout, overrun-free queueing", () => {
  const { uart, t, irq } = setup();
  uart.write(2, 1, 0x41); // FIFO on, trigger level 4
  uart.write(1, 1, 0x01);
  uart.pushInput("xy", 0n);
  t.now = 10_000_000n;
  uart.tick(t.now);
  assertEquals(uart.state.serial.recvFifo.num, 2);
  assertEquals(irq.level, false); // below the trigger level
  const timeout = uart.nextDeadline()!;
  assertEquals(timeout, t.now + uart.charTransmitTime() * 4n);
  t.now = timeout;
  uart.tick(t.now);
  assertEquals(irq.level, true);
  assertEquals(uart.read(2, 1) & 0x0f, 0x0c); // character timeout
  assertEquals(text([uart.read(0, 1), uart.read(0, 1)]), "xy");
  assertEquals(irq.level, false);
});

Deno.test("FIFO mode holds 16 bytes and keeps the rest queued until read", () => {
  const { uart, t } = setup();
  uart.write(2, 1, 0x01);
  uart.pushInput(new Uint8Array(20).map((_, i) => i), 0n);
  t.now = 1_000_000_000n;
  uart.tick(t.now);
  assertEquals(uart.state.serial.recvFifo.num, 16);
  assertEquals(uart.pendingInput, 4);
  assertEquals(uart.read(5, 1) & 0x02, 0); // no overrun
  assertEquals(uart.read(0, 1), 0);
  assertEquals(uart.state.serial.recvFifo.num, 16);
  assertEquals(uart.pendingInput, 3);
});

Deno.test("loopback mode receives what it transmits", () => {
  const { uart, out } = setup();
  uart.write(4, 1, 0x10);
  uart.write(0, 1, 0x5a);
  assertEquals(out, []);
  assertEquals(uart.read(0, 1), 0x5a);
});

Deno.test("vmdesc entry equals QEMU 7.2's serial entry", () => {
  const { uart } = setup();
  assertVmdescMatchesQemu("serial", vmstateUart16550, uart.state);
});

Deno.test("a reset UART saves QEMU's bytes for the serial section", () => {
  const { uart } = setup();
  // virt-reset: divider 000c, rbr ier 00 00, iir 01, lcr 00, mcr 08, lsr 60, msr b0, scr 00, fcr 00
  assertEquals(
    [...saveBytes(vmstateUart16550, uart.state)],
    [0x00, 0x0c, 0, 0, 1, 0, 8, 0x60, 0xb0, 0, 0],
  );
});

Deno.test("FIFO contents, timers and queued input survive a round trip", () => {
  const { uart, t } = setup();
  uart.write(2, 1, 0xc1);
  uart.write(1, 1, 0x05);
  uart.pushInput("hello world", 0n);
  t.now = 5n * uart.charTransmitTime();
  uart.tick(t.now);
  uart.read(0, 1);
  const s = uart.state.serial;
  ok(s.recvFifo.num > 0 && s.inputCount > 0 && s.fifoTimeoutTimer > 0n);
  const entry = JSON.parse(vmdescEntry("serial", vmstateUart16550, uart.state));
  const subs = entry.fields[0].struct.subsections.map((x: { vmsd_name: string }) => x.vmsd_name);
  assertEquals(subs, ["serial/recv_fifo", "serial/fifo_timeout_timer", "serial/snapshell-input"]);
  const back = roundTrip(vmstateUart16550, uart.state, { serial: createSerialRegs() });
  // thr_ipending is not migrated while IER.THRI is clear (QEMU: it is re-sampled on enable).
  assertEquals({ ...back.serial, thrIpending: 0 }, { ...s, thrIpending: 0 });
});

Deno.test("loading restores a live UART and re-derives its interrupt line", async () => {
  const a = setup();
  a.uart.write(1, 1, 0x01);
  a.uart.pushInput("Q", 0n);
  a.uart.tick(0n);
  const bytes = await saveDeviceStream(a.uart);
  const b = setup();
  b.uart.pushInput("zzz", 0n);
  await loadDeviceStream(b.uart, bytes);
  assertEquals(b.irq.level, true);
  assertEquals(b.uart.pendingInput, 0); // the absent input subsection means "no input"
  assertEquals(b.uart.read(0, 1), 0x51);
  assertEquals(b.irq.level, false);
});

Deno.test("postLoad rejects FIFO indices beyond 16 (CVE-2013-4533 class)", async () => {
  const bad = setup();
  bad.uart.write(2, 1, 0x01);
  bad.uart.pushInput("a", 0n);
  bad.uart.tick(0n);
  bad.uart.state.serial.recvFifo.head = 16;
  await assertRejected(bad.uart, setup().uart, /head 16/);
  bad.uart.state.serial.recvFifo.head = 0;
  bad.uart.state.serial.recvFifo.num = 17;
  await assertRejected(bad.uart, setup().uart, /num 17/);
});

Deno.test("postLoad rejects tsr_retry inconsistent with LSR.TEMT (QEMU's check)", async () => {
  const bad = setup();
  bad.uart.state.serial.tsrRetry = 1; // TEMT is set
  await assertRejected(bad.uart, setup().uart, /tsr empty/);
  const bad2 = setup();
  bad2.uart.state.serial.lsr &= ~LSR_TEMT;
  await assertRejected(bad2.uart, setup().uart, /tsr not empty/);
});

Deno.test("postLoad rejects an input queue whose times go backwards", async () => {
  const bad = setup();
  bad.uart.pushInput("ab", 100n);
  bad.uart.state.serial.inputTime[1] = 5n;
  await assertRejected(bad.uart, setup().uart, /Input byte 1/);
});

Deno.test("loads the serial section of QEMU 7.2's virt-running stream", () => {
  const { uart, out } = setup();
  const staged = structuredClone(uart.state);
  loadQemuSection("serial", vmstateUart16550, staged);
  uart.commit(staged);
  const s = uart.state.serial;
  assertEquals(
    [s.divider, s.ier, s.iir, s.lcr, s.mcr, s.lsr, s.msr, s.scr, s.fcr],
    [1, 1, 0xc1, 3, 0x0b, 0x60, 0xb0, 0xa5, 0x01],
  );
  uart.write(0, 1, 0x21);
  assertEquals(out, [0x21]);
  assertEquals(
    [...saveBytes(vmstateUart16550, uart.state)],
    [0, 1, 0, 1, 0xc1, 3, 0x0b, 0x60, 0xb0, 0xa5, 1],
  );
});
