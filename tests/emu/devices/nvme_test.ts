import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { NvmeQueueDevice, NvmeStatus, vmstateNvme } from "../../../emu/devices/nvme.ts";
import { Ram, RAM_BASE } from "../../../emu/ram.ts";
import { StateValidationError } from "../../../migration/errors.ts";
import {
  assertRejected,
  irqProbe,
  loadDeviceStream,
  saveBytes,
  saveDeviceStream,
  vmdescEntry,
} from "./_helpers.ts";

const CC = 0x14, CSTS = 0x1c, AQA = 0x24, ASQ = 0x28, ACQ = 0x30;
const SQ_DB = (q: number) => 0x1000 + 8 * q;
const CQ_DB = (q: number) => 0x1000 + 8 * q + 4;

// Guest memory layout of the tests (offsets from RAM_BASE).
const ADMIN_SQ = RAM_BASE + 0x1000;
const ADMIN_CQ = RAM_BASE + 0x2000;
const IO_SQ = RAM_BASE + 0x3000;
const IO_CQ = RAM_BASE + 0x4000;
const BUF = RAM_BASE + 0x8000;

interface Queue {
  qid: number;
  sq: number;
  cq: number;
  sqSize: number;
  cqSize: number;
  tail: number;
  head: number;
  phase: number;
  cid: number;
}

function setup(disk?: Uint8Array) {
  const ram = new Ram(64 * 1024);
  const irq = irqProbe();
  const dev = new NvmeQueueDevice({
    dma: ram,
    ramBase: ram.base,
    ramSize: ram.size,
    irq: irq.line,
    disk,
  });
  return { ram, irq, dev };
}

function queue(qid: number, sq: number, sqSize: number, cq: number, cqSize: number): Queue {
  return { qid, sq, cq, sqSize, cqSize, tail: 0, head: 0, phase: 1, cid: qid << 12 };
}

function enable(dev: NvmeQueueDevice, sqSize = 4, cqSize = 4): Queue {
  dev.write(AQA, 4, ((cqSize - 1) << 16) | (sqSize - 1));
  dev.write(ASQ, 4, ADMIN_SQ);
  dev.write(ACQ, 4, ADMIN_CQ);
  dev.write(CC, 4, 1);
  return queue(0, ADMIN_SQ, sqSize, ADMIN_CQ, cqSize);
}

/** Writes a command at the queue's tail and rings the doorbell; returns the CID used. */
function submit(ram: Ram, dev: NvmeQueueDevice, q: Queue, dw: Record<number, number>): number {
  const cid = q.cid++ & 0xffff;
  const sqe = new Uint8Array(64);
  const v = new DataView(sqe.buffer);
  for (const [i, x] of Object.entries(dw)) v.setUint32(Number(i) * 4, x >>> 0, true);
  v.setUint32(0, ((dw[0] ?? 0) & 0xff) | (cid << 16), true);
  ram.write(q.sq + q.tail * 64, sqe);
  q.tail = (q.tail + 1) % q.sqSize;
  dev.write(SQ_DB(q.qid), 4, q.tail);
  return cid;
}

interface Cqe {
  sqhd: number;
  sqid: number;
  cid: number;
  phase: number;
  status: number;
}

/** Reads the next completion if its phase matches, consuming it (CQ head doorbell). */
function poll(ram: Ram, dev: NvmeQueueDevice, q: Queue): Cqe | null {
  const e = new DataView(ram.read(q.cq + q.head * 16, 16).buffer);
  const dw2 = e.getUint32(8, true), dw3 = e.getUint32(12, true);
  if (((dw3 >>> 16) & 1) !== q.phase) return null;
  q.head = (q.head + 1) % q.cqSize;
  if (q.head === 0) q.phase ^= 1;
  dev.write(CQ_DB(q.qid), 4, q.head);
  return {
    sqhd: dw2 & 0xffff,
    sqid: dw2 >>> 16,
    cid: dw3 & 0xffff,
    phase: (dw3 >>> 16) & 1,
    status: dw3 >>> 17,
  };
}

function cmd(ram: Ram, dev: NvmeQueueDevice, q: Queue, dw: Record<number, number>): number {
  const cid = submit(ram, dev, q, dw);
  const c = poll(ram, dev, q);
  ok(c, "a completion was posted synchronously");
  assertEquals([c.cid, c.sqid], [cid, q.qid]);
  return c.status;
}

/** Admin queue plus I/O pair 1 (CQ 1 with interrupts, SQ 1 on it). */
function withIo(sqSize = 8, cqSize = 8) {
  const t = setup();
  const admin = enable(t.dev);
  assertEquals(
    cmd(t.ram, t.dev, admin, { 0: 5, 6: IO_CQ, 10: 1 | ((cqSize - 1) << 16), 11: 2 }),
    0,
  );
  assertEquals(
    cmd(t.ram, t.dev, admin, { 0: 1, 6: IO_SQ, 10: 1 | ((sqSize - 1) << 16), 11: 1 << 16 }),
    0,
  );
  return { ...t, admin, io: queue(1, IO_SQ, sqSize, IO_CQ, cqSize) };
}

Deno.test("identification registers: CAP, VS, NLB", () => {
  const { dev } = setup();
  assertEquals([dev.read(0, 4), dev.read(4, 4), dev.read(0x40, 4)], [0x0008_003f, 0x10000, 2048]);
});

Deno.test("CC.EN takes the admin queue pair; RDY follows; disabling drops every queue", () => {
  const { dev } = setup();
  assertEquals(dev.read(CSTS, 4), 0);
  enable(dev);
  assertEquals(dev.read(CSTS, 4), 1);
  assertEquals([dev.read(ASQ, 4), dev.read(ACQ, 4), dev.read(AQA, 4)], [
    ADMIN_SQ,
    ADMIN_CQ,
    0x30003,
  ]);
  dev.write(CC, 4, 0);
  assertEquals(dev.read(CSTS, 4), 0);
  assertEquals(dev.state.sq.every((q) => q === null), true);
});

Deno.test("enabling with an admin queue outside RAM or of size 1 sets CFS", () => {
  const { dev } = setup();
  dev.write(AQA, 4, 0x30003);
  dev.write(ASQ, 4, 0x1000);
  dev.write(ACQ, 4, ADMIN_CQ);
  dev.write(CC, 4, 1);
  assertEquals(dev.read(CSTS, 4), 2);
  dev.write(CC, 4, 0);
  dev.write(AQA, 4, 0);
  dev.write(ASQ, 4, ADMIN_SQ);
  dev.write(CC, 4, 1);
  assertEquals(dev.read(CSTS, 4), 2);
});

Deno.test("write then read blocks through an I/O queue pair; DMA marks RAM dirty", () => {
  const { ram, dev, io } = withIo();
  const data = new Uint8Array(1024).map((_, i) => (i * 7) & 0xff);
  ram.write(BUF, data);
  assertEquals(cmd(ram, dev, io, { 0: 1, 6: BUF, 10: 3, 12: 1 }), 0);
  assertEquals(dev.disk.subarray(3 * 512, 5 * 512), data);
  ram.syncDirty();
  assertEquals(cmd(ram, dev, io, { 0: 2, 6: BUF + 0x1000, 10: 3, 12: 1 }), 0);
  assertEquals(ram.read(BUF + 0x1000, 1024), data);
  ok(ram.isDirty((BUF + 0x1000 - ram.base) >>> 12), "the page the device wrote is dirty");
  assertEquals(cmd(ram, dev, io, { 0: 0 }), 0); // flush
});

Deno.test("completion entries carry SQ head, SQ id, CID and the phase, flipping on wrap", () => {
  const { ram, dev, io } = withIo(4, 4);
  const phases: number[] = [];
  for (let i = 0; i < 6; i++) {
    const cid = submit(ram, dev, io, { 0: 0 });
    const c = poll(ram, dev, io)!;
    assertEquals([c.cid, c.sqid, c.sqhd], [cid, 1, (i + 1) % 4]);
    phases.push(c.phase);
  }
  assertEquals(phases, [1, 1, 1, 1, 0, 0]);
});

Deno.test("status codes of docs/devices/nvme.md", () => {
  const { ram, dev, admin, io } = withIo();
  const S = NvmeStatus;
  assertEquals(cmd(ram, dev, admin, { 0: 5, 6: IO_CQ, 10: 0 | (7 << 16) }), S.INVALID_QID);
  assertEquals(cmd(ram, dev, admin, { 0: 5, 6: IO_CQ, 10: 9 | (7 << 16) }), S.INVALID_QID);
  assertEquals(cmd(ram, dev, admin, { 0: 5, 6: IO_CQ, 10: 1 | (7 << 16) }), S.INVALID_QID);
  assertEquals(cmd(ram, dev, admin, { 0: 5, 6: IO_CQ, 10: 2 | (64 << 16) }), S.INVALID_QSIZE);
  assertEquals(cmd(ram, dev, admin, { 0: 0, 10: 0 }), S.INVALID_QID);
  assertEquals(cmd(ram, dev, admin, { 0: 0, 10: 5 }), S.INVALID_QID);
  assertEquals(cmd(ram, dev, admin, { 0: 4, 10: 1 }), S.INVALID_QDELETE);
  assertEquals(cmd(ram, dev, admin, { 0: 0x7f }), S.INVALID_OPCODE);
  assertEquals(cmd(ram, dev, io, { 0: 2, 6: BUF, 10: 2047, 12: 1 }), S.LBA_RANGE);
  assertEquals(cmd(ram, dev, io, { 0: 2, 6: BUF, 10: 0, 11: 1 }), S.LBA_RANGE);
  assertEquals(cmd(ram, dev, io, { 0: 9 }), S.INVALID_OPCODE);
  assertEquals(cmd(ram, dev, admin, { 0: 0, 10: 1 }), S.SUCCESS);
  assertEquals(cmd(ram, dev, admin, { 0: 4, 10: 1 }), S.SUCCESS);
});

Deno.test("the interrupt is high while an IEN CQ has unconsumed entries", () => {
  const { ram, dev, irq } = setup();
  const admin = enable(dev);
  assertEquals(irq.level, false);
  submit(ram, dev, admin, { 0: 0x7f });
  assertEquals(irq.level, true);
  poll(ram, dev, admin);
  assertEquals(irq.level, false);
});

Deno.test("a full CQ stalls the SQ until the host consumes entries", () => {
  const { ram, dev, io } = withIo(8, 2); // a CQ of 2 holds one entry
  submit(ram, dev, io, { 0: 0 });
  submit(ram, dev, io, { 0: 0 });
  assertEquals(dev.state.sq[1]!.head, 1);
  ok(poll(ram, dev, io)); // consuming resumes the SQ
  assertEquals(dev.state.sq[1]!.head, 2);
  ok(poll(ram, dev, io));
  assertEquals(poll(ram, dev, io), null);
});

Deno.test("snapshot: queue tables with NULL holes and the disk round-trip", async () => {
  const a = withIo();
  a.ram.write(BUF, new Uint8Array(512).fill(0xab));
  cmd(a.ram, a.dev, a.io, { 0: 1, 6: BUF, 10: 7, 12: 0 });
  const entry = JSON.parse(vmdescEntry("snapshell-nvme", vmstateNvme, a.dev.state));
  assertEquals(entry.fields.filter((f: { type: string }) => f.type === "ptr-marker").length, 18);
  const bytes = saveBytes(vmstateNvme, a.dev.state);
  // cc csts aqa, asq acq, 9 markers + 2 SQs of 18 bytes, 9 markers + 2 CQs of 18, disk_size, disk
  assertEquals(bytes.length, 12 + 16 + (9 + 2 * 18) + (9 + 2 * 18) + 4 + 1048576);
  // sq[0] marker at 28, its 18 bytes, sq[1] marker at 47, its 18 bytes, then 7 NULL markers.
  assertEquals([bytes[28], bytes[47], ...bytes.subarray(66, 73)], [
    0x31,
    0x31,
    ...Array(7).fill(0x30),
  ]);
  const b = setup();
  await loadDeviceStream(b.dev, await saveDeviceStream(a.dev));
  assertEquals(b.dev.disk.subarray(7 * 512, 8 * 512), new Uint8Array(512).fill(0xab));
  assertEquals(b.dev.state.sq, a.dev.state.sq);
  assertEquals(b.dev.state.cq, a.dev.state.cq);
  assertEquals(b.dev.state.sq.map((q) => q !== null), [true, true, ...Array(7).fill(false)]);
  // With RAM restored too (the RAM section's job), the device keeps working on its queues.
  b.ram.write(b.ram.base, a.ram.u8);
  const io = { ...a.io };
  assertEquals(cmd(b.ram, b.dev, io, { 0: 2, 6: BUF + 0x1000, 10: 7, 12: 0 }), 0);
  assertEquals(b.ram.read(BUF + 0x1000, 512), new Uint8Array(512).fill(0xab));
});

Deno.test("postLoad rejects bad queue indices, sizes, references, phases and bases", async () => {
  const cases: [(d: NvmeQueueDevice) => void, RegExp][] = [
    [(d) => (d.state.sq[1]!.head = 8), /sq\[1\] head 8/],
    [(d) => (d.state.cq[1]!.tail = 9), /cq\[1\] head 0 \/ tail 9/],
    [(d) => (d.state.sq[1]!.size = 65), /sq\[1\] size 65/],
    [(d) => (d.state.cq[1]!.phase = 2), /phase 2/],
    [(d) => (d.state.sq[1]!.cqid = 3), /CQ 3, which does not exist/],
    [(d) => (d.state.sq[1]!.cqid = 0), /CQ 0, which it may not use/],
    [(d) => (d.state.sq[2] = { ...d.state.sq[1]!, sqid: 5 }), /sq\[2\] says it is SQ 5/],
    [(d) => (d.state.cq[1]!.base = 0x1000n), /outside RAM/],
    [(d) => (d.state.sq[1]!.base = BigInt(RAM_BASE + 0x10000 - 64)), /outside RAM/],
    [(d) => (d.state.csts = 0), /admin queue pair/],
  ];
  for (const [mutate, message] of cases) {
    const bad = withIo();
    mutate(bad.dev);
    await assertRejected(bad.dev, withIo().dev, message);
  }
});

Deno.test("a stream for another disk size is refused", async () => {
  const small = setup(new Uint8Array(4096));
  await rejects(
    loadDeviceStream(setup().dev, await saveDeviceStream(small.dev)),
    StateValidationError,
  );
});

Deno.test("a load swaps its scratch disk in; a reset record's disk is copied or swapped back", () => {
  const a = withIo();
  const loaded = a.dev.stage();
  loaded.disk.fill(0x5a);
  const before = a.dev.state.disk;
  a.dev.commit(loaded);
  ok(a.dev.state.disk === loaded.disk, "the scratch is swapped in, not copied");
  ok(a.dev.state.disk !== before);
  // A record from elsewhere (a reused machine's reset record) is copied, never adopted.
  const reset = { ...a.dev.state, disk: new Uint8Array(a.dev.state.diskSize).fill(7) };
  a.dev.commit(reset);
  ok(a.dev.state.disk !== reset.disk && a.dev.state.disk.every((b) => b === 7));
  // The next load then the same reset record: the untouched pre-load disk is swapped back.
  for (let round = 0; round < 3; round++) {
    const l = a.dev.stage();
    l.disk.fill(0x11 + round);
    const held = a.dev.state.disk;
    a.dev.commit(l);
    ok(a.dev.state.disk === l.disk);
    if (round === 1) cmd(a.ram, a.dev, a.io, { 0: 1, 6: BUF, 10: 3, 12: 0 }); // guest writes
    a.dev.commit(reset);
    ok(a.dev.state.disk === held, "swapped back: it still holds the reset record's bytes");
    ok(a.dev.state.disk.every((b) => b === 7));
    ok(reset.disk.every((b) => b === 7), "the reset record itself is never written");
  }
  // The guest writes the reset disk, then a load swaps it out: it is no longer swapped back.
  cmd(a.ram, a.dev, a.io, { 0: 1, 6: BUF, 10: 3, 12: 0 }); // block 3 := zeros from RAM
  const l2 = a.dev.stage();
  l2.disk.fill(0x22);
  a.dev.commit(l2);
  a.dev.commit(reset);
  ok(a.dev.state.disk.every((b) => b === 7), "the guest-written disk is not taken for clean");
  // A load rejected after staging leaves the live disk alone; the scratch is no longer clean.
  a.dev.stage().disk.fill(0x99);
  a.dev.commit(a.dev.stage());
  a.dev.commit(reset);
  ok(a.dev.state.disk.every((b) => b === 7));
  // Bytes written through `disk` (tests, tools) are never mistaken for the reset record's.
  a.dev.disk.fill(3);
  const l = a.dev.stage();
  l.disk.fill(4);
  a.dev.commit(l);
  a.dev.disk.fill(5);
  a.dev.commit(reset);
  ok(a.dev.state.disk.every((b) => b === 7));
});
