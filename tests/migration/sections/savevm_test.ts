/**
 * Whole-stream saving: header and configuration bytes, START/END/FULL framing with footers,
 * section ids from registration order, priority order, EOF and the vmdesc trailer.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { SaveError } from "../../../migration/errors.ts";
import { SectionType } from "../../../migration/sections/constants.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import {
  saveStream,
  writeHeader,
  writeIteration,
  writeSectionFooter,
  writeSectionHeader,
} from "../../../migration/sections/savevm.ts";
import { MemorySink } from "../../../migration/stream/io.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { b, be32, hex, str8 } from "../_helpers.ts";
import { makeWorld } from "./_world.ts";

const FIXTURE = new URL("../../fixtures/qemu72/", import.meta.url);

Deno.test("writeHeader() writes magic, version 3 and QEMU 7.2's configuration record for virt", async () => {
  const w = new StreamWriter();
  writeHeader(w, { machine: "virt" });
  const expected = b(
    /* QEMU_VM_FILE_MAGIC */ [0x51, 0x45, 0x56, 0x4d],
    /* QEMU_VM_FILE_VERSION */ [0x00, 0x00, 0x00, 0x03],
    /* QEMU_VM_CONFIGURATION */ 0x07,
    /* len */ be32(4),
    /* name */ "virt",
  );
  strictEqual(hex(w.take()), hex(expected));
  const real = await Deno.readFile(new URL("virt-running.qemu", FIXTURE));
  strictEqual(hex(real.subarray(0, expected.length)), hex(expected));
});

Deno.test("writeHeader() adds the capabilities subsection and can leave out the configuration", () => {
  const w = new StreamWriter();
  writeHeader(w, { machine: "pc", capabilities: ["x-ignore-shared"] });
  const expected = b(
    [0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3],
    0x07,
    /* len */ be32(2),
    "pc",
    /* subsection */ 0x05,
    str8("configuration/capabilities"),
    /* version */ be32(1),
    /* caps_count */ be32(1),
    /* capability */ str8("x-ignore-shared"),
  );
  strictEqual(hex(w.take()), hex(expected));
  const bare = new StreamWriter();
  writeHeader(bare, { machine: "pc", sendConfiguration: false });
  strictEqual(hex(bare.take()), "51 45 56 4d 00 00 00 03");
});

Deno.test("writeSectionHeader() writes the full header for START/FULL and the short one for PART/END", () => {
  const reg = new SectionRegistry();
  reg.registerIterative("first", 1, {
    saveSetup() {},
    saveComplete() {},
    load: () => Promise.resolve(),
    commit() {},
    abort() {},
  });
  const e = reg.registerDevice({
    vmsd: F.vmsd({ name: "dev", versionId: 7, fields: [] }),
    instanceId: 2,
    state: () => ({}),
  });
  for (
    const [type, expected] of [
      [SectionType.FULL, b(0x04, be32(1), str8("dev"), be32(2), be32(7))],
      [SectionType.START, b(0x01, be32(1), str8("dev"), be32(2), be32(7))],
      [SectionType.PART, b(0x02, be32(1))],
      [SectionType.END, b(0x03, be32(1))],
    ] as const
  ) {
    const w = new StreamWriter();
    writeSectionHeader(w, e, type);
    writeSectionFooter(w, e, {});
    strictEqual(hex(w.take()), hex(b(expected, 0x7e, be32(1))));
  }
  const w = new StreamWriter();
  writeSectionFooter(w, e, { sendFooters: false });
  strictEqual(w.take().length, 0);
});

Deno.test("saveStream() writes header, START, END, FULL sections, EOF and the vmdesc, byte for byte", async () => {
  const reg = new SectionRegistry();
  const pages = [0xaa];
  reg.registerIterative("ram", 4, {
    saveSetup(w) {
      w.u8(pages.length);
      for (const p of pages) w.u8(p);
    },
    saveComplete(w) {
      w.u8(0);
    },
    load: () => Promise.resolve(),
    commit() {},
    abort() {},
  });
  reg.registerDevice({
    vmsd: F.vmsd({ name: "dev", fields: [F.uint8("a")] }),
    state: () => ({ a: 7 }),
  });
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await saveStream(w, reg, { machine: "virt" });
  const json =
    '{"page_size": 4096, "devices": [{"name": "dev", "instance_id": 0, "vmsd_name": "dev", ' +
    '"version": 1, "fields": [{"name": "a", "type": "uint8", "size": 1}]}]}';
  const expected = b(
    /* magic, version */ [0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3],
    /* configuration */ 0x07,
    be32(4),
    "virt",
    /* START, section id 0 */ 0x01,
    be32(0),
    /* idstr */ str8("ram"),
    /* instance */ be32(0),
    /* version */ be32(4),
    /* setup payload */ 1,
    0xaa,
    /* footer */ 0x7e,
    be32(0),
    /* END, id 0 */ 0x03,
    be32(0),
    /* complete payload */ 0,
    /* footer */ 0x7e,
    be32(0),
    /* FULL, id 1 */ 0x04,
    be32(1),
    str8("dev"),
    be32(0),
    be32(1),
    /* a */ 7,
    /* footer */ 0x7e,
    be32(1),
    /* EOF */ 0x00,
    /* QEMU_VM_VMDESCRIPTION */ 0x06,
    be32(json.length),
    json,
  );
  strictEqual(hex(sink.bytes()), hex(expected));
  strictEqual(w.offset, expected.length);
});

Deno.test("saveStream() orders sections by priority but keeps registration-order section ids", async () => {
  const reg = new SectionRegistry();
  reg.registerDevice({ vmsd: F.vmsd({ name: "low", fields: [] }), state: () => ({}) });
  reg.registerDevice({
    vmsd: F.vmsd({ name: "high", priority: 5, fields: [] }),
    state: () => ({}),
  });
  const seen: { idstr: string; type: number; start: number; end: number }[] = [];
  const w = new StreamWriter();
  await saveStream(w, reg, {
    machine: "m",
    sendConfiguration: false,
    sendVmdesc: false,
    onSection: (s) => seen.push(s),
  });
  const bytes = w.take();
  const high = b(0x04, be32(1), str8("high"), be32(0), be32(1), 0x7e, be32(1));
  const low = b(0x04, be32(0), str8("low"), be32(0), be32(1), 0x7e, be32(0));
  strictEqual(hex(bytes), hex(b([0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3], high, low, 0x00)));
  deepStrictEqual(seen, [
    { idstr: "high", type: 4, start: 8, end: 8 + high.length },
    { idstr: "low", type: 4, start: 8 + high.length, end: 8 + high.length + low.length },
  ]);
});

Deno.test("saveStream() leaves out a device whose top-level needed() is false, and footers on request", async () => {
  const world = makeWorld();
  const w = new StreamWriter();
  await saveStream(w, world.reg, { machine: "m", sendFooters: false });
  const bytes = w.take();
  const text = new TextDecoder().decode(bytes);
  strictEqual(text.includes("optional"), false);
  strictEqual(bytes.includes(0x7e), false, "no footer bytes in this stream");
  world.optional.on = true;
  const w2 = new StreamWriter();
  await saveStream(w2, world.reg, { machine: "m" });
  strictEqual(
    new TextDecoder().decode(w2.take()).includes('"name": "optional", "instance_id": 0'),
    true,
  );
});

Deno.test("saveStream() writes the vmdesc length as the exact JSON byte count", async () => {
  const world = makeWorld();
  const w = new StreamWriter();
  await saveStream(w, world.reg, { machine: "virt", pageSize: 65536 });
  const bytes = w.take();
  const text = new TextDecoder().decode(bytes);
  const at = text.lastIndexOf('{"page_size": 65536, "devices": [');
  strictEqual(bytes[at - 5], 0x06);
  strictEqual(bytes[at - 6], 0x00, "EOF precedes the vmdesc");
  const len = new DataView(bytes.buffer, at - 4, 4).getUint32(0);
  strictEqual(len, bytes.length - at);
  const desc = JSON.parse(text.slice(at));
  deepStrictEqual(
    desc.devices.map((d: { name: string; instance_id: number }) => [d.name, d.instance_id]),
    [
      ["serial", 0],
      ["pflash", 0],
      ["pflash", 1],
    ],
  );
});

Deno.test("saveStream() reports a failing pre_save as SaveError located at the section", async () => {
  const reg = new SectionRegistry();
  reg.registerDevice({
    vmsd: F.vmsd({ name: "bad", fields: [], preSave: () => false }),
    instanceId: 3,
    state: () => ({}),
  });
  await rejects(saveStream(new StreamWriter(), reg, { machine: "m" }), (e: unknown) => {
    strictEqual(e instanceof SaveError, true);
    strictEqual((e as SaveError).section, "bad#3");
    return true;
  });
});

Deno.test("writeIteration() writes one PART chunk per iterative handler and reports completion", async () => {
  const reg = new SectionRegistry();
  let rounds = 0;
  reg.registerIterative("it", 1, {
    saveSetup() {},
    saveIterate(w) {
      w.u8(++rounds);
      return Promise.resolve(rounds >= 2);
    },
    saveComplete() {},
    load: () => Promise.resolve(),
    commit() {},
    abort() {},
  });
  const w = new StreamWriter();
  strictEqual(await writeIteration(w, reg, { machine: "m" }), false);
  strictEqual(await writeIteration(w, reg, { machine: "m" }), true);
  strictEqual(
    hex(w.take()),
    hex(b(0x02, be32(0), 1, 0x7e, be32(0), 0x02, be32(0), 2, 0x7e, be32(0))),
  );
});

Deno.test("saveStream() sends PART rounds until every iterative handler is done, as qemu_savevm_state", async () => {
  const reg = new SectionRegistry();
  let rounds = 0;
  reg.registerIterative("it", 1, {
    saveSetup(w) {
      w.u8(0xaa);
    },
    saveIterate(w) {
      w.u8(++rounds);
      return Promise.resolve(rounds >= 2);
    },
    saveComplete(w) {
      w.u8(0xee);
    },
    load: () => Promise.resolve(),
    commit() {},
    abort() {},
  });
  const w = new StreamWriter();
  await saveStream(w, reg, { machine: "m", sendConfiguration: false, sendVmdesc: false });
  strictEqual(
    hex(w.take()),
    hex(b(
      [0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3],
      /* START */ 0x01,
      be32(0),
      str8("it"),
      be32(0),
      be32(1),
      0xaa,
      0x7e,
      be32(0),
      /* PART, PART */ 0x02,
      be32(0),
      1,
      0x7e,
      be32(0),
      0x02,
      be32(0),
      2,
      0x7e,
      be32(0),
      /* END */ 0x03,
      be32(0),
      0xee,
      0x7e,
      be32(0),
      /* EOF */ 0x00,
    )),
  );
});
