import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  createPflashState,
  PflashCfi01,
  validatePflash,
  vmstatePflash,
} from "../../../../emu/devices/qemu/pflash_cfi01.ts";
import { ConfigError } from "../../../../emu/errors.ts";
import { assertRejected } from "../_helpers.ts";
import { assertEntryMatches, loadAndResave, probedReads } from "./_qemu.ts";

const small = () => new PflashCfi01({ storage: new Uint8Array(1 << 20) });

Deno.test("read-array mode reads the storage little-endian", () => {
  const f = small();
  f.storage.set([0x11, 0x22, 0x33, 0x44], 8);
  assertEquals([f.read(8, 4), f.read(8, 2), f.read(11, 1)], [0x44332211, 0x2211, 0x44]);
});

Deno.test("CFI query answers QEMU 7.2's table for virt's geometry, on both chips", () => {
  const f = new PflashCfi01();
  f.write(0x55 * 4, 4, 0x98);
  const q = (i: number) => f.read(i * 4, 4);
  // "QRY" replicated on the two 16-bit chips of the 32-bit bank.
  assertEquals([q(0x10), q(0x11), q(0x12)], [0x00510051, 0x00520052, 0x00590059]);
  // 16 MiB per chip (2^24), 2 KiB write buffer, 128 blocks of 128 KiB per chip.
  assertEquals(
    [q(0x27), q(0x2a), q(0x2c), q(0x2d), q(0x2e), q(0x2f), q(0x30)].map((v) => v & 0xff),
    [
      0x18,
      0x0b,
      0x01,
      0x7f,
      0x00,
      0x00,
      0x02,
    ],
  );
  assertEquals([q(0x31) & 0xff, q(0x3f) & 0xff, q(0x52)], [0x50, 0x01, 0]);
  assertEquals(f.read(0x10 * 4, 1), 0x51); // a byte read is the low byte of the bank answer
  f.write(0, 4, 0xff);
  assertEquals([f.state.cmd, f.read(0x40, 4)], [0, 0]);
});

Deno.test("read device id: 0x89 / 0x18 on both chips", () => {
  const f = small();
  f.write(0, 4, 0x90);
  assertEquals([f.read(0, 4), f.read(4, 4), f.read(8, 4)], [0x00890089, 0x00180018, 0]);
});

Deno.test("status register, program, erase and clear status", () => {
  const f = small();
  f.write(0, 4, 0x70);
  assertEquals([f.read(0, 4), f.read(0, 2)], [0x00800080, 0x80]);
  f.write(0x100, 4, 0x40);
  f.write(0x100, 4, 0xcafe1234);
  assertEquals([f.state.wcycle, f.read(0x100, 4)], [0, 0x00800080]); // still status mode
  f.write(0, 4, 0xff);
  assertEquals(f.read(0x100, 4), 0xcafe1234);
  f.write(0x100, 4, 0x20);
  f.write(0x100, 4, 0xd0);
  f.write(0, 4, 0xff);
  assertEquals([f.read(0x100, 4), f.read(0x40000, 1)], [0xffffffff, 0]); // one 256 KiB sector
  f.write(0, 4, 0x50);
  assertEquals([f.state.status, f.state.cmd], [0, 0]);
});

Deno.test("a read-only bank reports program and erase errors and keeps its bytes", () => {
  const f = new PflashCfi01({ storage: new Uint8Array(1 << 20), readOnly: true });
  f.write(0, 4, 0x10);
  f.write(0, 4, 0x1234);
  f.write(4, 4, 0x20);
  assertEquals([f.state.status, f.storage[0], f.storage[4]], [0xb0, 0, 0]);
});

Deno.test("write to buffer counts words down and needs a confirm", () => {
  const f = small();
  f.write(0, 4, 0xe8);
  f.write(0, 4, 1); // two words
  f.write(0, 4, 0x01020304);
  f.write(4, 4, 0x05060708);
  assertEquals([f.state.wcycle, f.state.counter], [3, (1n << 64n) - 1n]);
  f.write(0, 4, 0xd0);
  f.write(0, 4, 0xff);
  assertEquals([f.read(0, 4), f.read(4, 4)], [0x01020304, 0x05060708]);
});

Deno.test("flash1 registers instance 1, as QEMU's second bank", () => {
  assertEquals(
    new PflashCfi01({ storage: new Uint8Array(1 << 20), instanceId: 1 }).sections()[0].instanceId,
    1,
  );
});

Deno.test("a bank that is not whole sectors is a configuration error", () => {
  throws(() => new PflashCfi01({ storage: new Uint8Array(4096) }), ConfigError);
});

Deno.test("vmdesc entries equal QEMU 7.2's for both banks", () => {
  assertEntryMatches("virt-running", "pflash_cfi01", vmstatePflash, createPflashState(), 0);
  assertEntryMatches("virt-running", "pflash_cfi01", vmstatePflash, createPflashState(), 1);
});

Deno.test("both banks of every fixture stream load and save back byte for byte", () => {
  for (const s of ["virt-reset", "virt-running", "virt-icount"] as const) {
    for (const inst of [0, 1]) {
      const st = loadAndResave(s, "pflash_cfi01", vmstatePflash, createPflashState(), inst);
      assertEquals(st, createPflashState());
    }
  }
});

Deno.test("postLoad rejects states QEMU's state machine cannot reach", async () => {
  const bad = (p: Partial<ReturnType<typeof createPflashState>>) => () =>
    validatePflash({ ...createPflashState(), ...p });
  throws(bad({ cmd: 0x33 }), /not a flash command/);
  throws(bad({ wcycle: 4 }), /above 3/);
  throws(bad({ status: 0x81 }), /bits other than/);
  throws(bad({ wcycle: 2, cmd: 0x20 }), /write-to-buffer/);
  throws(bad({ wcycle: 1, cmd: 0x70 }), /second cycle/);
  throws(bad({ wcycle: 2, cmd: 0xe8, counter: 0x10000n }), /above 0xffff/);
  const src = small();
  src.state.cmd = 0x33;
  await assertRejected(src, small(), /not a flash command/);
});

Deno.test("both banks read like real QEMU 7.2's without a drive (zeros, read-array mode)", () => {
  const banks = [new PflashCfi01(), new PflashCfi01({ instanceId: 1 })];
  const reads = probedReads().filter((r) => r.addr >= 0x20000000 && r.addr < 0x24000000);
  assertEquals(reads.length, 8);
  for (const r of reads) {
    const bank = banks[(r.addr - 0x20000000) >>> 25];
    assertEquals([r.addr, bank.read((r.addr - 0x20000000) & 0x1ffffff, 4)], [r.addr, r.value]);
  }
});

Deno.test("program and erase set the dirty bits of the pages they write; given storage counts as written", () => {
  const f = new PflashCfi01();
  assertEquals([f.dirty.some((w) => w !== 0), f.written.some((w) => w !== 0)], [false, false]);
  f.write(0x3004, 4, 0x40);
  f.write(0x3004, 4, 0x1234);
  assertEquals(f.dirty[0], 1 << 3);
  f.write(0x4ffe, 4, 0x40);
  f.write(0x4ffe, 4, 0x1234); // straddles pages 4 and 5
  assertEquals(f.dirty[0], (1 << 3) | (1 << 4) | (1 << 5));
  f.dirty.fill(0);
  f.write(0x4_0000, 4, 0x20); // sector 1: pages 64..127
  f.write(0x4_0000, 4, 0xd0);
  assertEquals([f.dirty[1], f.dirty[2], f.dirty[3], f.dirty[4]], [0, 0xffffffff, 0xffffffff, 0]);
  f.dirty.fill(0);
  f.write(0, 4, 0xff);
  f.read(0x8000, 4); // reads and read-only commands dirty nothing
  f.write(0, 4, 0x90);
  assertEquals(f.dirty.some((w) => w !== 0), false);
  const given = small();
  assertEquals(given.written.every((w) => w === 0xffffffff), true);
});
