/**
 * The `qemu-virt` profile against QEMU 7.2's own streams (tests/fixtures/qemu72, made by
 * tools/qemu-fixtures): each loads whole, and saving the loaded machine writes every device
 * section (header, ids, body, footer) and the vmdesc exactly as QEMU wrote them.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { SectionType } from "../../migration/sections/constants.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { MigrationError } from "../../migration/errors.ts";
import { qemuVirtOptionsFor, streamBlocks, VirtMachine } from "../../emu/virt.ts";
import { QEMU_VIRT_BOARD } from "../../emu/board.ts";

const FIXTURES = new URL("../fixtures/qemu72/", import.meta.url);
const STREAMS = ["virt-reset", "virt-running", "virt-icount"] as const;
const qemuBytes = (name: string) => Deno.readFileSync(new URL(`${name}.qemu`, FIXTURES));

/** A `qemu-virt` machine sized like the fixtures' `-m 16M`. */
const qemuVirt = () => new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });

interface Span {
  idstr: string;
  start: number;
  end: number;
}

/** The FULL sections of a stream with their byte spans, from a load's report. */
async function fullSections(bytes: Uint8Array): Promise<Span[]> {
  const m = qemuVirt();
  const report = await m.load(StreamReader.fromBytes(bytes), { dryRun: true });
  const eof = bytes.lastIndexOf(SectionType.EOF, bytes.length - report.vmdescBytes! - 1);
  const secs = report.sections;
  return secs.flatMap((s, i) =>
    s.type === SectionType.FULL
      ? [{ idstr: s.idstr, start: s.offset, end: secs[i + 1]?.offset ?? eof }]
      : []
  );
}

/** The vmdesc trailer's parsed JSON. */
function vmdesc(bytes: Uint8Array): unknown {
  const eof = fullEnd(bytes);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(eof + 2);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(eof + 6, eof + 6 + len)));
}

/** Offset of the EOF byte: the one followed by the VMDESCRIPTION record that ends the stream. */
function fullEnd(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let at = bytes.length - 6; at >= 0; at--) {
    if (bytes[at] === SectionType.EOF && bytes[at + 1] === SectionType.VMDESCRIPTION) {
      if (at + 6 + view.getUint32(at + 2) === bytes.length) return at;
    }
  }
  throw new Error("no vmdesc trailer");
}

for (const name of STREAMS) {
  Deno.test(`qemu-virt loads QEMU 7.2's ${name} stream and saves every device section back byte for byte`, async () => {
    const theirs = qemuBytes(name);
    const m = qemuVirt();
    await m.load(StreamReader.fromBytes(theirs));
    const w = new StreamWriter();
    await m.save(w);
    const ours = w.take();
    const a = await fullSections(theirs);
    const b = await fullSections(ours);
    deepStrictEqual(b.map((s) => s.idstr), a.map((s) => s.idstr), "same sections, same order");
    for (let i = 0; i < a.length; i++) {
      deepStrictEqual(
        ours.subarray(b[i].start, b[i].end),
        theirs.subarray(a[i].start, a[i].end),
        `section ${a[i].idstr} (header with QEMU's id, body, footer)`,
      );
    }
    deepStrictEqual(vmdesc(ours), vmdesc(theirs), "the vmdesc trailer");
  });
}

Deno.test("qemu-virt resumes QEMU's running hello guest where QEMU stopped it", async () => {
  const m = qemuVirt();
  await m.load(StreamReader.fromBytes(qemuBytes("virt-running")));
  strictEqual(m.cpu.state.pc, 0x80000124);
  strictEqual(m.cpu.state.misa, 0x401411ad, "the hart reports QEMU's misa");
  strictEqual(m.qemuDevices!.globalState.runState, "paused");
  // QEMU's flash banks and mrom are RAM blocks shared with the devices behind them.
  const mrom = m.bus.regions.find((r) => r.base === QEMU_VIRT_BOARD.mrom.base);
  ok(mrom, "the mrom is on the bus");
  const rom = new DataView(m.qemuDevices!.mrom.bytes.buffer);
  strictEqual(
    m.bus.load(0x1000, 4) >>> 0,
    rom.getUint32(0, true),
    "the bus reads the block's bytes",
  );
  ok(m.qemuDevices!.mrom.bytes.some((b) => b !== 0), "QEMU's reset stub arrived in the mrom");
});

Deno.test("qemu-virt saves no snapshell-only section, and the default virt still refuses QEMU's blocks", async () => {
  const m = qemuVirt();
  const names = m.registry.entries.map((e) => `${e.sectionId}:${e.idstr}/${e.instanceId}`);
  deepStrictEqual(names, [
    "0:timer/0",
    "2:ram/0",
    "4:slirp/0",
    "5:cpu_common/0",
    "6:cpu/0",
    "7:riscv_mtimer/0",
    "8:riscv_sifive_plic/0",
    "9:0000:00:00.0/gpex_root/0",
    "10:PCIHost/0",
    "11:PCIBUS/0",
    "12:serial/0",
    "13:goldfish_rtc/0",
    "14:pflash_cfi01/0",
    "15:pflash_cfi01/1",
    "16:fw_cfg/0",
    "17:globalstate/0",
  ]);
  const plain = new VirtMachine({ ramSize: 16 << 20 });
  const err = await plain.load(StreamReader.fromBytes(qemuBytes("virt-running"))).catch((e) => e);
  ok(err instanceof MigrationError, String(err));
});

Deno.test("a QEMU block list picks qemu-virt, sized from riscv_virt_board.ram, slirp as the stream has it", async () => {
  for (const name of STREAMS) {
    deepStrictEqual(await qemuVirtOptionsFor(qemuBytes(name)), {
      profile: "qemu-virt",
      ramSize: 16 << 20,
      slirp: true,
    });
  }
  deepStrictEqual(streamBlocks(qemuBytes("virt-reset"))?.map((b) => b.idstr), [
    "virt.flash0",
    "virt.flash1",
    "riscv_virt_board.ram",
    "riscv_virt_board.mrom",
  ]);
  const noNet = new VirtMachine({ profile: "qemu-virt", ramSize: 8 << 20, slirp: false });
  const w = new StreamWriter();
  await noNet.save(w);
  deepStrictEqual(await qemuVirtOptionsFor(w.take()), {
    profile: "qemu-virt",
    ramSize: 8 << 20,
    slirp: false,
  });
  const ours = new StreamWriter();
  await new VirtMachine({ ramSize: 8 << 20 }).save(ours);
  strictEqual(await qemuVirtOptionsFor(ours.take()), undefined, "the default virt's own stream");
});
