/**
 * The loader-robustness checklist (shared/spec/loader-robustness.md), one test per item, run
 * against our loader and devices with streams damaged by the corrupt tool. Every rejection must
 * be a typed MigrationError, and must leave a machine that was in use exactly as it was.
 */
import { ok, strictEqual } from "node:assert/strict";
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import { FuzzTarget } from "../../../harness/fuzz/target.ts";
import { forkMachine } from "../../../harness/replay/fork.ts";
import { compareMachines } from "../../../harness/replay/state_diff.ts";
import {
  corruptBytes,
  type CorruptOp,
  layoutOfBytes,
  resolveChunks,
  resolveField,
  resolveSubsection,
} from "../../../migration/corrupt/mod.ts";
import {
  FooterError,
  MigrationError,
  StateValidationError,
  StreamFormatError,
  StreamTruncatedError,
  UnknownEntityError,
  VersionMismatchError,
} from "../../../migration/errors.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

async function save(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

/** The demo after 1M instructions, caught with UART bytes in its FIFO and more queued. */
async function busySnapshot(): Promise<Uint8Array> {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(DEFAULT_GUEST));
  m.run(1_000_000);
  m.uart.write(2, 1, 0x01); // FCR: FIFO on
  m.sendInput("abcdefgh");
  for (let i = 0; i < 40_000; i++) {
    m.run(1);
    const s = m.uart.state.serial;
    if (s.recvFifo.num > 0 && s.inputCount > 0) break;
  }
  return await save(m);
}

const base = await busySnapshot();
const layout = await layoutOfBytes(base);
const target = await FuzzTarget.create(base, { runInsns: 200_000 });
const corrupt = (...ops: CorruptOp[]) => corruptBytes(base, ops);
const field = (path: string) => resolveField(layout, path);

Deno.test("the checklist's base snapshot carries the subsections the checks need", () => {
  for (const s of ["serial/recv_fifo", "serial/snapshell-input", "serial/fifo_timeout_timer"]) {
    ok(layout.subsections.some((x) => x.name === s), s);
  }
});

/**
 * Load `bytes` into a machine that is in use; it must be refused with a typed error (of class
 * `cls`, when given) and leave the machine exactly as it was.
 */
async function rejected(
  bytes: Uint8Array,
  cls: new (...a: never[]) => MigrationError = MigrationError,
  re?: RegExp,
): Promise<MigrationError> {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  await m.load(StreamReader.fromBytes(base));
  m.run(5_000);
  const before = forkMachine(m);
  let err: unknown;
  try {
    await m.load(StreamReader.fromBytes(bytes));
  } catch (e) {
    err = e;
  }
  ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  if (re) ok(re.test((err as Error).message), (err as Error).message);
  ok(compareMachines(before, m).equal, "the refused load changed the machine");
  strictEqual(m.consoleText, before.consoleText);
  return err as MigrationError;
}

const setField = (path: string, value: string): CorruptOp => ({ op: "set-field", path, value });

Deno.test("1. bad file magic or version; truncated header", async () => {
  strictEqual(
    (await rejected(await corrupt({ op: "set-byte", offset: 0, value: 0 }), StreamFormatError))
      .offset,
    0,
  );
  await rejected(
    await corrupt({ op: "set-byte", offset: 7, value: 2 }),
    StreamFormatError,
    /obsolete/,
  );
  await rejected(
    await corrupt({ op: "set-byte", offset: 7, value: 4 }),
    StreamFormatError,
    /version 4/,
  );
  for (const length of [0, 3, 7]) {
    await rejected(await corrupt({ op: "truncate", length }), StreamTruncatedError);
  }
});

Deno.test("2. truncation at every byte offset, including inside a be32/be64 or a RAM page", async () => {
  // A small machine keeps "every offset" cheap: 64 KiB of RAM with one non-zero page, 4 KiB disk.
  const m = new VirtMachine({ ramSize: 64 << 10, disk: new Uint8Array(4096) });
  m.ram.write(m.ram.base + 0x2000, Uint8Array.from({ length: 300 }, (_, i) => i));
  m.uart.write(2, 1, 0x01);
  m.sendInput("xy");
  m.run(200);
  const small = await save(m);
  const smallLayout = await layoutOfBytes(small);
  ok(smallLayout.chunks.some((c) => c.ramRecords?.some((r) => r.kind === "page")), "a RAM page");
  const t = await FuzzTarget.create(small, {
    runInsns: 100,
    makeMachine: (o) => new VirtMachine({ ...o, disk: new Uint8Array(4096) }),
  });
  const eof = smallLayout.eofOffset!;
  for (let cut = 0; cut < small.length; cut++) {
    const o = await t.run(small.subarray(0, cut));
    // Cut right after EOF, the stream is complete without its (optional) vmdesc trailer.
    strictEqual(o.class, cut === eof + 1 ? "equal" : "rejected", `cut at ${cut}: ${o.detail}`);
  }
});

Deno.test("3. trailing garbage after EOF; a vmdesc length past the end of the file", async () => {
  await rejected(
    await corrupt({ op: "insert", offset: base.length, hex: "00ff" }),
    StreamFormatError,
    /after the end/,
  );
  await rejected(await corrupt({ op: "damage-vmdesc", how: "length" }), StreamTruncatedError);
});

Deno.test("4. unknown section type byte, including plausible 0x01..0x04 inside section data", async () => {
  const serial = resolveChunks(layout, "serial")[0];
  await rejected(
    await corrupt({ op: "set-byte", offset: serial.offset, value: 0x09 }),
    StreamFormatError,
    /Unknown savevm section type 9/,
  );
  for (const value of [0x01, 0x02, 0x03, 0x04]) {
    if (value !== base[serial.offset]) {
      await rejected(await corrupt({ op: "set-byte", offset: serial.offset, value }));
    }
    await rejected(
      await corrupt({ op: "insert", offset: serial.offset + serial.size - 5, hex: `0${value}` }),
    );
  }
});

Deno.test("5. footer missing, or footer section_id different from the header's", async () => {
  for (const how of ["drop", "id", "marker"] as const) {
    const e = await rejected(
      await corrupt({ op: "break-footer", section: "rtc", how }),
      FooterError,
    );
    strictEqual(e.section, "goldfish_rtc");
  }
});

Deno.test("6. PART/END for a section_id never STARTed; a duplicate section_id", async () => {
  const end = resolveChunks(layout, "ram@end")[0];
  await rejected(
    await corrupt({ op: "set-byte", offset: end.offset + 4, value: 0x77 }),
    StreamFormatError,
    /Unknown section id/,
  );
  await rejected(
    await corrupt({ op: "duplicate-section", section: "serial" }),
    StreamFormatError,
    /twice/,
  );
  const cpu = resolveChunks(layout, "cpu")[0];
  const serial = resolveChunks(layout, "serial")[0];
  await rejected(
    await corrupt({
      op: "splice",
      offset: serial.offset + 1,
      length: 4,
      source: "-",
      sourceOffset: cpu.offset + 1,
      sourceLength: 4,
    }),
  );
});

Deno.test("7. unknown idstr or instance_id; a device section missing from the stream", async () => {
  await rejected(
    await corrupt({ op: "set-instance", section: "serial", instance: 1 }),
    UnknownEntityError,
  );
  const plic = resolveChunks(layout, "plic")[0];
  await rejected(
    await corrupt({ op: "flip", offset: plic.nameOffset! + 3, bit: 5 }),
    UnknownEntityError,
    /Unknown section/,
  );
  await rejected(
    await corrupt({ op: "drop-section", section: "rtc" }),
    UnknownEntityError,
    /missing/,
  );
});

Deno.test("8. version_id above ours or below minimum_version_id", async () => {
  await rejected(
    await corrupt({ op: "set-version", section: "serial", version: 4 }),
    VersionMismatchError,
    /too new/,
  );
  await rejected(
    await corrupt({ op: "set-version", section: "serial", version: 1 }),
    VersionMismatchError,
    /too old/,
  );
  await rejected(
    await corrupt({ op: "set-version", section: "ram", version: 3 }),
    VersionMismatchError,
  );
});

Deno.test("9. subsection not prefixed by parent/, unknown, or appearing twice", async () => {
  await rejected(
    await corrupt({ op: "rename-subsection", subsection: "cpu/pmp", to: "pmp" }),
    FooterError,
  );
  await rejected(
    await corrupt({ op: "rename-subsection", subsection: "cpu/pmp", to: "cpu/pmq" }),
    UnknownEntityError,
    /cpu\/pmq/,
  );
  const sub = resolveSubsection(layout, "serial/recv_fifo");
  const end = sub.offset + sub.size;
  await rejected(
    await corrupt({
      op: "splice",
      offset: end,
      length: 0,
      source: "-",
      sourceOffset: sub.offset,
      sourceLength: sub.size,
    }),
    StateValidationError,
    /appears twice/,
  );
});

Deno.test("10. VARRAY/VBUFFER lengths that are negative, zero, or larger than the backing array", async () => {
  for (const v of ["0xffffffff", "0x80000000", "0x7fffffff", "0x100001"]) {
    await rejected(await corrupt(setField("serial/snapshell-input.input_count", v)));
  }
  await rejected(await corrupt(setField("serial/snapshell-input.input_count", "0")));
  await rejected(await corrupt(setField("nvme.disk_size", "0")), StateValidationError);
  await rejected(await corrupt(setField("nvme.disk_size", "0xffffffff")), StateValidationError);
});

Deno.test("11. indices into fixed tables out of range (queue, IRQ source, hart)", async () => {
  await rejected(await corrupt(setField("nvme.sq[1].cqid", "9")), StateValidationError, /CQ 9/);
  await rejected(await corrupt(setField("nvme.sq[1].sqid", "5")), StateValidationError);
  await rejected(await corrupt(setField("nvme.cq[3].cqid", "8")), StateValidationError);
  await rejected(
    await corrupt(setField("plic.pending[0]", "0x1")),
    StateValidationError,
    /outside/,
  );
  await rejected(
    await corrupt(setField("plic.claimed[0]", "0x1")),
    StateValidationError,
    /outside/,
  );
  await rejected(await corrupt(setField("riscv_aclint_swi.msip", "2")), StateValidationError);
});

Deno.test("12. ring and FIFO pointers or counts inconsistent with capacity", async () => {
  await rejected(
    await corrupt(setField("serial/recv_fifo.head", "16")),
    StateValidationError,
    /head/,
  );
  await rejected(
    await corrupt(setField("serial/recv_fifo.num", "17")),
    StateValidationError,
    /num/,
  );
  await rejected(await corrupt(setField("nvme.sq[1].head", "8")), StateValidationError, /head/);
  await rejected(
    await corrupt(setField("nvme.cq[1].tail", "0xffff")),
    StateValidationError,
    /tail/,
  );
  await rejected(
    await corrupt(setField("nvme.sq[3].tail", "65535")),
    StateValidationError,
    /tail 65535/,
  );
});

Deno.test("13. cross-field invariants checked after all fields are read", async () => {
  await rejected(await corrupt(setField("nvme.cc", "0")), StateValidationError, /RDY/);
  await rejected(await corrupt(setField("nvme.sq[1].size", "70")), StateValidationError);
  const lsr = field("serial.lsr");
  const noTemt = (Number(lsr.value.kind === "int" ? lsr.value.unsigned : 0n) & ~0x40).toString();
  await rejected(
    await corrupt(setField("serial.lsr", noTemt)),
    StateValidationError,
    /Inconsistent/,
  );
  await rejected(await corrupt(setField("cpu.env.priv", "2")), StateValidationError, /priv/);
});

Deno.test("14. signed/unsigned confusion when widening, and len*size overflow", async () => {
  await rejected(
    await corrupt(setField("serial/fifo_timeout_timer.fifo_timeout_timer", "-5")),
    StateValidationError,
  );
  await rejected(
    await corrupt(setField("serial/fifo_timeout_timer.fifo_timeout_timer", "0x8000000000000000")),
  );
  await rejected(await corrupt(setField("cpu.waiting", "0xffffffff")), StateValidationError);
  // 0x20000000 uint64 elements are 4 GiB: refused before allocating, by what the stream holds.
  await rejected(await corrupt(setField("serial/snapshell-input.input_count", "0x20000000")));
});

Deno.test("15. RAM records: offset past the block, unknown block, MEM_SIZE, flags, CONTINUE", async () => {
  const pages = resolveChunks(layout, "ram").flatMap((c) => c.ramRecords ?? [])
    .filter((r) => r.kind === "page" || r.kind === "zero");
  const named = pages.find((r) => r.named)!;
  const cont = pages.find((r) => !r.named)!;
  // The be64 header: bits 32..39 of the page address live in byte 3.
  await rejected(
    await corrupt({ op: "set-byte", offset: cont.offset + 3, value: 1 }),
    StreamFormatError,
    /Illegal RAM offset/,
  );
  await rejected(
    await corrupt({ op: "flip", offset: named.offset + 10, bit: 1 }),
    UnknownEntityError,
    /block/,
  );
  const memSize = resolveChunks(layout, "ram@start")[0].ramRecords!.find((r) =>
    r.kind === "mem-size"
  )!;
  await rejected(
    await corrupt({ op: "flip", offset: memSize.offset + 5, bit: 0 }),
    UnknownEntityError,
    /RAM size/,
  );
  for (const flag of [0x40, 0x80, 0x100]) {
    const low = base[cont.offset + 6] | (flag >> 8);
    const lowest = base[cont.offset + 7] | (flag & 0xff);
    await rejected(
      await corrupt({
        op: "splice",
        offset: cont.offset + 6,
        length: 2,
        source: "-",
        sourceOffset: 0,
        sourceLength: 0,
      }, {
        op: "insert",
        offset: cont.offset + 8,
        hex: [low, lowest].map((b) => b.toString(16).padStart(2, "0")).join(""),
      }),
      StreamFormatError,
    );
  }
  await rejected(
    await corrupt({
      op: "set-byte",
      offset: named.offset + 7,
      value: base[named.offset + 7] | 0x20,
    }),
    StreamFormatError,
  );
});

Deno.test("16. huge length prefixes never allocate before validation", async () => {
  const rss = Deno.memoryUsage().rss;
  await rejected(
    await corrupt({
      op: "splice",
      offset: layout.vmdesc!.offset + 1,
      length: 4,
      source: "-",
      sourceOffset: 0,
      sourceLength: 0,
    }, {
      op: "insert",
      offset: layout.vmdesc!.offset + 5,
      hex: "ffffffff",
    }),
    StreamTruncatedError,
  );
  // Past the UART's own maximum: refused before the bytes left are even looked at.
  await rejected(
    await corrupt(setField("serial/snapshell-input.input_count", "0x7fffffff")),
    StateValidationError,
    /exceeds the maximum/,
  );
  await rejected(await corrupt({ op: "set-byte", offset: 9, value: 0x7f }), MigrationError); // machine-name length
  ok(Deno.memoryUsage().rss - rss < 256 << 20, "no GiB allocation");
});

Deno.test("17. timer values that would spin or overflow the scheduler stay bounded", async () => {
  for (const v of ["0", "0x1", "0xffffffffffffffff", "0x7fffffffffffffff"]) {
    const o = await target.run(await corrupt(setField("riscv_mtimer.timecmp", v)));
    ok(
      o.class === "different" || o.class === "equal",
      `timecmp ${v}: ${o.class} ${o.detail ?? ""}`,
    );
  }
  const far = await target.run(
    await corrupt(setField("serial/fifo_timeout_timer.fifo_timeout_timer", "0x7fffffffffffffff")),
  );
  ok(far.class === "different", `${far.class} ${far.detail ?? ""}`);
  await rejected(
    await corrupt(
      setField("goldfish_rtc.alarm_running", "1"),
      setField("goldfish_rtc.alarm_next", "0xffffffffffffffff"),
    ),
    StateValidationError,
    /Alarm deadline/,
  );
});

Deno.test("18. vmdesc JSON malformed or contradicting the stream is advisory only", async () => {
  strictEqual(
    (await target.run(await corrupt({ op: "damage-vmdesc", how: "json" }))).class,
    "equal",
  );
  strictEqual(
    (await target.run(await corrupt({ op: "damage-vmdesc", how: "drop" }))).class,
    "equal",
  );
  // Make the vmdesc claim `lsr` is 9 bytes wide: wrong, and ignored by the loader.
  const text = new TextDecoder().decode(base.subarray(layout.vmdesc!.jsonOffset));
  const at = text.indexOf('"name": "lsr", "type": "uint8", "size": 1');
  ok(at > 0);
  const digit = layout.vmdesc!.jsonOffset + at + '"name": "lsr", "type": "uint8", "size": '.length;
  strictEqual(
    (await target.run(await corrupt({ op: "set-byte", offset: digit, value: 0x39 }))).class,
    "equal",
  );
});

Deno.test("19. configuration mismatch: RAM size, device set or machine type differ", async () => {
  const small = new VirtMachine({ ramSize: 8 << 20 });
  let err: unknown;
  await small.load(StreamReader.fromBytes(base)).catch((e) => (err = e));
  ok(err instanceof UnknownEntityError && /RAM size/.test(err.message), String(err));
  const qemu = await Deno.readFile(
    new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url),
  );
  await rejected(qemu, UnknownEntityError);
  await rejected(
    await corrupt({ op: "set-byte", offset: 13, value: 0x78 }),
    UnknownEntityError,
    /Machine type/,
  );
});

Deno.test("20. a snapshot cut off mid-write is detected, never taken for a whole one", async () => {
  const eof = layout.eofOffset!;
  for (let cut = 8; cut <= eof; cut += 4093) {
    const o = await target.run(base.subarray(0, cut));
    strictEqual(o.class, "rejected", `cut at ${cut}`);
    ok(o.error === "StreamTruncatedError" || o.error === "StreamFormatError", `${cut}: ${o.error}`);
  }
  strictEqual((await target.run(base.subarray(0, eof))).class, "rejected");
});
