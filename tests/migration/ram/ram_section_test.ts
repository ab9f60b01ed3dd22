/**
 * The `ram` section: golden bytes of the START/PART/END payloads, QEMU 7.2's chunk layout, every
 * loader check (each rejected before guest RAM changes, and the undo journal restoring what an
 * earlier record wrote), never-written pages sent without a scan, and the live-migration rounds.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import {
  MigrationError,
  SaveError,
  StreamFormatError,
  StreamTruncatedError,
  UnknownEntityError,
  VersionMismatchError,
} from "../../../migration/errors.ts";
import { newBitmap, setPage } from "../../../migration/ram/page_bitmap.ts";
import {
  emptyStats,
  RAM_SECTION_VERSION,
  type RamBlock,
  RamSection,
} from "../../../migration/ram/ram_section.ts";
import { RamFlag } from "../../../migration/sections/constants.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { b, be32, hex, str8 } from "../_helpers.ts";

const PS = 4096;

/** A be64 from a number below 2^53. */
function be64(v: number): number[] {
  return [...be32(Math.floor(v / 2 ** 32)), ...be32(v >>> 0)];
}

interface Tiny {
  block: RamBlock & { dirty: Uint32Array; written: Uint32Array };
  section: RamSection;
  loaded: Uint32Array[];
}

/** One block "blk" of `pages` pages with dirty tracking, every page counted as written. */
function tiny(pages = 3, opts: { written?: boolean } = {}): Tiny {
  const loaded: Uint32Array[] = [];
  const written = newBitmap(pages);
  if (opts.written !== false) { for (let p = 0; p < pages; p++) setPage(written, p); }
  const block = {
    idstr: "blk",
    bytes: new Uint8Array(pages * PS),
    dirty: newBitmap(pages),
    written,
    onLoaded: (c: Uint32Array) => void loaded.push(c.slice()),
  };
  return { block, section: new RamSection(() => [block]), loaded };
}

function pageOf(fill: number): Uint8Array {
  return new Uint8Array(PS).fill(fill);
}

/** START payload of a 3-page "blk". */
const START = b(be64(3 * PS + RamFlag.MEM_SIZE), str8("blk"), be64(3 * PS), be64(RamFlag.EOS));

async function loadChunks(s: RamSection, chunks: [Uint8Array, "start" | "part" | "end"][]) {
  for (const [bytes, phase] of chunks) {
    const r = StreamReader.fromBytes(bytes);
    await s.load(r, RAM_SECTION_VERSION, phase);
    strictEqual(r.buffered, 0, `${phase} chunk fully consumed`);
  }
}

Deno.test("saveSetup/saveIterate/saveComplete write QEMU's START, PART and END payloads", async () => {
  const { block, section } = tiny();
  block.bytes.set(pageOf(0x11), PS); // page 1 holds data, pages 0 and 2 are zero
  const w = new StreamWriter();
  section.saveSetup(w);
  strictEqual(hex(w.take()), hex(START));
  const part = new StreamWriter();
  strictEqual(await section.saveIterate(part), true);
  strictEqual(
    hex(part.take()),
    hex(b(
      /* page 0: ZERO with the block name */ be64(0 + RamFlag.ZERO),
      str8("blk"),
      0,
      /* page 1: PAGE, CONTINUE */ be64(PS + RamFlag.PAGE + RamFlag.CONTINUE),
      pageOf(0x11),
      /* page 2: ZERO, CONTINUE */ be64(2 * PS + RamFlag.ZERO + RamFlag.CONTINUE),
      0,
      be64(RamFlag.EOS),
    )),
  );
  const end = new StreamWriter();
  await section.saveComplete(end);
  strictEqual(hex(end.take()), hex(b(be64(RamFlag.EOS))), "END: nothing left, only EOS");
  deepStrictEqual(section.stats, {
    zeroPages: 2,
    normalPages: 1,
    bytes: PS,
    xbzrlePages: 0,
    xbzrleBytes: 0,
    xbzrleCacheMisses: 0,
    xbzrleOverflows: 0,
    xbzrleSkipped: 0,
  });
  strictEqual(section.saving, false);
});

Deno.test("a saved machine has QEMU 7.2's ram chunk layout: START list, one PART, an EOS-only END", async () => {
  const fixture = await Deno.readFile(
    new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url),
  );
  // QEMU's END chunk of ram (section id 2) at 0x03516e: type 3, id, EOS, footer.
  const qemuEnd = b(0x03, be32(2), be64(RamFlag.EOS), 0x7e, be32(2));
  strictEqual(hex(fixture.subarray(0x03516e, 0x03516e + qemuEnd.length)), hex(qemuEnd));
  strictEqual(fixture[0x9a], 0x02, "QEMU sends the pages in a PART chunk");

  const m = new VirtMachine({ ramSize: 1 << 20 });
  m.ram.write(m.ram.base + 5 * PS, pageOf(0x5a));
  const w = new StreamWriter();
  await m.save(w);
  const ours = w.take();
  const id = 0; // ram is registered first in our machine
  const startAt = 8 + 1 + 4 + 4; // header, configuration record "virt"
  strictEqual(
    hex(ours.subarray(startAt, startAt + 1 + 4 + 4 + 4 + 4)),
    hex(b(0x01, be32(id), str8("ram"), be32(0), be32(4))),
  );
  const list = b(
    be64((1 << 20) + RamFlag.MEM_SIZE),
    str8("riscv_virt_board.ram"),
    be64(1 << 20),
    be64(RamFlag.EOS),
    0x7e,
    be32(id),
  );
  const partAt = startAt + 17 + list.length;
  strictEqual(hex(ours.subarray(startAt + 17, partAt)), hex(list));
  strictEqual(hex(ours.subarray(partAt, partAt + 5)), hex(b(0x02, be32(id))));
  // 256 pages: 255 ZERO records (9 bytes, the first also names the block) and one PAGE.
  const partLen = 8 + 21 + 1 + 254 * 9 + 8 + PS + 8;
  const endAt = partAt + 5 + partLen + 5;
  strictEqual(hex(ours.subarray(endAt - 13, endAt)), hex(b(be64(RamFlag.EOS), 0x7e, be32(id))));
  strictEqual(
    hex(ours.subarray(endAt, endAt + qemuEnd.length)),
    hex(b(0x03, be32(id), be64(RamFlag.EOS), 0x7e, be32(id))),
  );
});

Deno.test("the loader accepts what the saver wrote, and reports which pages changed", async () => {
  const src = tiny();
  src.block.bytes.set(pageOf(0x22), 2 * PS);
  const chunks: [Uint8Array, "start" | "part" | "end"][] = [];
  let w = new StreamWriter();
  src.section.saveSetup(w);
  chunks.push([w.take(), "start"]);
  w = new StreamWriter();
  await src.section.saveIterate(w);
  chunks.push([w.take(), "part"]);
  w = new StreamWriter();
  await src.section.saveComplete(w);
  chunks.push([w.take(), "end"]);

  const dst = tiny();
  dst.block.bytes.set(pageOf(0x77), 0); // stale data where the source has a zero page
  await loadChunks(dst.section, chunks);
  dst.section.commit();
  deepStrictEqual(dst.block.bytes, src.block.bytes);
  deepStrictEqual(dst.section.stats, { ...emptyStats(), zeroPages: 2, normalPages: 1, bytes: PS });
  strictEqual(dst.loaded.length, 1);
  deepStrictEqual([...dst.loaded[0]], [0b101], "pages 0 (zeroed) and 2 (filled) changed");
});

/** A record stream after START for the tiny block, then EOS. */
function part(...records: (number | number[] | Uint8Array | string)[]): Uint8Array {
  return b(...records, be64(RamFlag.EOS));
}

const rejectedRecords: [string, Uint8Array, new (...a: never[]) => MigrationError, RegExp][] = [
  [
    "unknown block in a page record",
    part(be64(RamFlag.PAGE), str8("nope"), pageOf(1)),
    UnknownEntityError,
    /Can't find block nope/,
  ],
  [
    "offset past the block end",
    part(be64(3 * PS + RamFlag.ZERO), str8("blk"), 0),
    StreamFormatError,
    /Illegal RAM offset 0x3000 in block blk/,
  ],
  [
    "offset far past the block end (high word)",
    part(be64(2 ** 40 + RamFlag.PAGE), str8("blk"), pageOf(1)),
    StreamFormatError,
    /Illegal RAM offset 0x10000000000/,
  ],
  [
    "unknown flag bits",
    part(be64(0x400 + RamFlag.PAGE), str8("blk"), pageOf(1)),
    StreamFormatError,
    /Unknown combination of migration flags: 0x408/,
  ],
  [
    "an XBZRLE delta for a page the stream never sent",
    part(be64(RamFlag.XBZRLE), str8("blk"), 1, 0, 0),
    StreamFormatError,
    /never sent: there is no cached copy/,
  ],
  [
    "a second block list",
    part(be64(3 * PS + RamFlag.MEM_SIZE), str8("blk"), be64(3 * PS)),
    StreamFormatError,
    /MEM_SIZE\) out of place/,
  ],
  [
    "a page cut short",
    b(be64(RamFlag.PAGE), str8("blk"), pageOf(1).subarray(0, 100)),
    StreamTruncatedError,
    /Stream ends early/,
  ],
];

for (const [what, bytes, type, message] of rejectedRecords) {
  Deno.test(`the loader rejects ${what} with a typed error and RAM unchanged`, async () => {
    const dst = tiny();
    dst.block.bytes.set(pageOf(0x33), PS);
    const before = dst.block.bytes.slice();
    // A good record first, so the journal has something to undo.
    const good = b(be64(PS + RamFlag.PAGE), str8("blk"), pageOf(0x44));
    await loadChunks(dst.section, [[START, "start"]]);
    let err: unknown;
    try {
      await dst.section.load(StreamReader.fromBytes(b(good, bytes)), RAM_SECTION_VERSION, "part");
    } catch (e) {
      err = e;
    }
    ok(err instanceof type, `${what}: got ${err}`);
    ok(message.test((err as Error).message), (err as Error).message);
    if (!(err instanceof StreamTruncatedError)) {
      strictEqual((err as MigrationError).offset, good.length, "offset of the record");
    }
    dst.section.abort();
    deepStrictEqual(dst.block.bytes, before);
    strictEqual(dst.loaded.length, 0);
  });
}

const rejectedLists: [string, Uint8Array, RegExp][] = [
  [
    "a total that differs from this machine's",
    b(be64(4 * PS + RamFlag.MEM_SIZE), str8("blk"), be64(4 * PS), be64(RamFlag.EOS)),
    /RAM size in the stream is 0x4000 bytes but this machine has 0x3000/,
  ],
  [
    "an unknown block in the list",
    b(be64(3 * PS + RamFlag.MEM_SIZE), str8("pc.ram"), be64(3 * PS), be64(RamFlag.EOS)),
    /Unknown ramblock "pc.ram", cannot accept migration/,
  ],
  [
    "a block length that differs",
    b(
      be64(3 * PS + RamFlag.MEM_SIZE),
      str8("blk"),
      be64(2 * PS),
      str8("blk"),
      be64(PS),
      be64(RamFlag.EOS),
    ),
    /Length mismatch: blk: 0x2000 in the stream, 0x3000 here/,
  ],
];

for (const [what, bytes, message] of rejectedLists) {
  Deno.test(`the block list with ${what} is rejected as incompatible`, async () => {
    const dst = tiny();
    await rejects(
      dst.section.load(StreamReader.fromBytes(bytes), RAM_SECTION_VERSION, "start"),
      (e) =>
        e instanceof UnknownEntityError && e.kind === "incompatible" && message.test(e.message),
    );
  });
}

Deno.test("a block listed twice is rejected as corrupt", async () => {
  const two = {
    idstr: "two",
    bytes: new Uint8Array(PS),
  };
  const one = { idstr: "one", bytes: new Uint8Array(PS) };
  const section = new RamSection(() => [one, two]);
  const list = b(be64(2 * PS + RamFlag.MEM_SIZE), str8("one"), be64(PS), str8("one"), be64(PS));
  await rejects(
    section.load(StreamReader.fromBytes(b(list, be64(RamFlag.EOS))), RAM_SECTION_VERSION, "start"),
    (e) => e instanceof StreamFormatError && /"one" is listed twice/.test(e.message),
  );
});

Deno.test("the loader rejects CONTINUE with no current block, before touching RAM", async () => {
  const dst = tiny();
  await loadChunks(dst.section, [[START, "start"]]);
  await rejects(
    dst.section.load(
      StreamReader.fromBytes(part(be64(RamFlag.PAGE + RamFlag.CONTINUE), pageOf(1))),
      RAM_SECTION_VERSION,
      "part",
    ),
    (e) => e instanceof StreamFormatError && /CONTINUE with no block/.test(e.message),
  );
  deepStrictEqual(dst.block.bytes, new Uint8Array(3 * PS));
});

Deno.test("the loader rejects pages before the block list and versions other than 4", async () => {
  const dst = tiny();
  await rejects(
    dst.section.load(
      StreamReader.fromBytes(part(be64(RamFlag.ZERO), str8("blk"), 0)),
      RAM_SECTION_VERSION,
      "start",
    ),
    (e) => e instanceof StreamFormatError && /before the block list/.test(e.message),
  );
  await rejects(
    dst.section.load(StreamReader.fromBytes(START), 5, "start"),
    (e) => e instanceof VersionMismatchError && e.received === 5,
  );
});

Deno.test("QEMU 7.2's ZERO fill byte is honoured, and a zero page already zero is not journaled", async () => {
  const dst = tiny(3, { written: false });
  await loadChunks(dst.section, [[START, "start"], [
    b(be64(RamFlag.ZERO), str8("blk"), 0x5c, be64(PS + RamFlag.ZERO + 0x20), 0, be64(0x10)),
    "part",
  ]]);
  deepStrictEqual(dst.block.bytes.subarray(0, PS), pageOf(0x5c));
  dst.section.abort();
  deepStrictEqual(dst.block.bytes, new Uint8Array(3 * PS), "abort zeroes the known-zero page");
});

Deno.test("runs of ZERO records: known-zero pages are skipped, a page with data is zeroed, a bad one is rejected where it stands", async () => {
  const Z = RamFlag.ZERO | RamFlag.CONTINUE;
  const zeros = (from: number, to: number) => {
    const out: number[] = [];
    for (let p = from; p < to; p++) out.push(...be64(p * PS + Z), 0);
    return out;
  };
  // Eight pages; page 5 holds data and is known to.
  const dst = tiny(8, { written: false });
  dst.block.bytes.set(pageOf(0x44), 5 * PS);
  setPage(dst.block.written, 5);
  const start8 = b(be64(8 * PS + RamFlag.MEM_SIZE), str8("blk"), be64(8 * PS), be64(RamFlag.EOS));
  const stream = b(be64(RamFlag.ZERO), str8("blk"), 0, zeros(1, 8), be64(RamFlag.EOS));
  await loadChunks(dst.section, [[start8, "start"], [stream, "part"]]);
  deepStrictEqual(dst.section.stats, { ...emptyStats(), zeroPages: 8, normalPages: 0, bytes: 0 });
  deepStrictEqual(dst.block.bytes, new Uint8Array(8 * PS), "page 5 was zeroed");
  dst.section.abort();
  deepStrictEqual(dst.block.bytes.subarray(5 * PS, 6 * PS), pageOf(0x44), "abort restores it");

  // A record past the block's end in the middle of a run is rejected at its own offset.
  const bad = tiny(8, { written: false });
  const head = b(be64(RamFlag.ZERO), str8("blk"), 0, zeros(1, 4));
  const cut = b(head, be64(9 * PS + Z), 0, zeros(4, 8), be64(RamFlag.EOS));
  await loadChunks(bad.section, [[start8, "start"]]);
  const r = StreamReader.fromBytes(cut);
  await rejects(
    bad.section.load(r, RAM_SECTION_VERSION, "part"),
    (e) =>
      e instanceof StreamFormatError && /Illegal RAM offset 0x9000/.test(e.message) &&
      e.offset === head.length,
  );
});

Deno.test("the journal copies only pages that may hold data, and abort restores both kinds", async () => {
  const dst = tiny(3, { written: false });
  dst.block.bytes.set(pageOf(0x66), 2 * PS);
  setPage(dst.block.written, 2);
  const before = dst.block.bytes.slice();
  const stream = b(
    be64(RamFlag.PAGE),
    str8("blk"),
    pageOf(1),
    be64(2 * PS + RamFlag.PAGE + RamFlag.CONTINUE),
    pageOf(2),
    be64(RamFlag.EOS),
  );
  await loadChunks(dst.section, [[START, "start"], [stream, "end"]]);
  ok(dst.block.written[0] & 1, "a filled page is marked written");
  dst.section.abort();
  deepStrictEqual(dst.block.bytes, before);
});

Deno.test("never-written pages are sent as ZERO without being read (writers must declare writes)", async () => {
  const { block, section } = tiny(2, { written: false });
  block.bytes.set(pageOf(0x99), PS); // behind the tracker's back: not declared
  block.bytes.set(pageOf(0x98), 0);
  setPage(block.dirty, 0); // declared
  const w = new StreamWriter();
  section.saveSetup(w);
  w.take();
  await section.saveComplete(w);
  deepStrictEqual(section.stats, { ...emptyStats(), zeroPages: 1, normalPages: 1, bytes: PS });
  strictEqual(block.dirty[0], 0, "the dirty bits were folded in");
  strictEqual(block.written[0], 1, "into written");
});

Deno.test("live rounds: sync folds dirty pages into the pending set, cancel gives them back", async () => {
  const { block, section } = tiny(40);
  throws(() => section.syncDirty(), SaveError);
  const w = new StreamWriter();
  section.saveSetup(w);
  strictEqual(section.pendingPages, 40);
  await section.saveIterate(w);
  strictEqual(section.pendingPages, 0);
  setPage(block.dirty, 3);
  setPage(block.dirty, 35);
  deepStrictEqual(section.syncDirty(), { dirtied: 2, pending: 2 });
  strictEqual(block.dirty[0] | block.dirty[1], 0);
  setPage(block.dirty, 3);
  deepStrictEqual(section.syncDirty(), { dirtied: 1, pending: 2 });
  const round = new StreamWriter();
  section.stats = emptyStats();
  await section.saveIterate(round);
  deepStrictEqual(section.stats, { ...emptyStats(), zeroPages: 2 });
  strictEqual(
    hex(round.take()),
    hex(b(
      be64(3 * PS + RamFlag.ZERO + RamFlag.CONTINUE),
      0,
      be64(35 * PS + RamFlag.ZERO + RamFlag.CONTINUE),
      0,
      be64(RamFlag.EOS),
    )),
    "the block named in the previous chunk carries over as CONTINUE, as in QEMU",
  );
  setPage(block.dirty, 7);
  section.syncDirty();
  section.cancel();
  strictEqual(section.saving, false);
  strictEqual(section.pendingPages, 0);
  strictEqual(block.dirty[0], 1 << 7, "the unsent page is dirty again");
});

/** A PART that resends page 1 of "blk" as `record` (an XBZRLE record body after the header). */
function xbzrlePart(page: number, body: number[]): Uint8Array {
  return b(be64(page * PS + RamFlag.XBZRLE), str8("blk"), body, be64(RamFlag.EOS));
}

Deno.test("xbzrle: a miss fills the cache, a hit sends QEMU's XBZRLE record, an equal page nothing", async () => {
  const { block, section } = tiny();
  section.xbzrleCacheSize = 4 * PS;
  block.bytes.set(pageOf(0x11), PS);
  section.saveSetup(new StreamWriter());
  await section.saveIterate(new StreamWriter()); // the full pass: whole pages, no cache yet
  block.bytes[PS + 8] = 0x99;
  setPage(block.dirty, 1);
  section.syncDirty();
  const miss = new StreamWriter();
  await section.saveIterate(miss);
  strictEqual(
    hex(miss.take()),
    hex(
      b(
        be64(PS + RamFlag.PAGE + RamFlag.CONTINUE),
        block.bytes.slice(PS, 2 * PS),
        be64(RamFlag.EOS),
      ),
    ),
    "a cache miss goes whole (and fills the cache)",
  );
  block.bytes[PS + 9] = 0x77;
  setPage(block.dirty, 1);
  section.syncDirty();
  const hit = new StreamWriter();
  await section.saveIterate(hit);
  // zero run 9, data run 1 [77]: encoding 1, be16 length 3
  strictEqual(
    hex(hit.take()),
    hex(b(be64(PS + RamFlag.XBZRLE + RamFlag.CONTINUE), 1, 0, 3, 9, 1, 0x77, be64(RamFlag.EOS))),
  );
  setPage(block.dirty, 1); // dirty but unchanged: QEMU skips it
  const end = new StreamWriter();
  await section.saveComplete(end);
  strictEqual(hex(end.take()), hex(b(be64(RamFlag.EOS))));
  strictEqual(section.stats.xbzrlePages, 1);
  strictEqual(section.stats.xbzrleSkipped, 1);
  strictEqual(section.stats.xbzrleCacheMisses, 1);
});

Deno.test("xbzrle: the loader applies a delta to the page the stream sent before", async () => {
  const { block, section } = tiny();
  const full = b(be64(PS + RamFlag.PAGE), str8("blk"), pageOf(0x11), be64(RamFlag.EOS));
  await loadChunks(section, [[START, "start"], [full, "part"], [
    xbzrlePart(1, [1, 0, 3, 9, 1, 0x77]),
    "part",
  ]]);
  const want = pageOf(0x11);
  want[9] = 0x77;
  deepStrictEqual(block.bytes.subarray(PS, 2 * PS), want);
  strictEqual(section.stats.xbzrlePages, 1);
});

Deno.test("xbzrle: a bad encoding, length, delta or a page never sent is a typed error; RAM is unchanged", async () => {
  const full = b(be64(PS + RamFlag.PAGE), str8("blk"), pageOf(0x11), be64(RamFlag.EOS));
  const cases: [string, Uint8Array, RegExp, string][] = [
    ["encoding", xbzrlePart(1, [2, 0, 3, 9, 1, 0x77]), /wrong compression/, "xbzrle.encoding"],
    ["length", xbzrlePart(1, [1, 0x10, 0x01]), /len overflow/, "xbzrle.length"],
    [
      "delta",
      xbzrlePart(1, [1, 0, 3, 0x81, 0x20, 1]),
      /decode error: a zero run of 4097/,
      "xbzrle.data",
    ],
    ["never sent", xbzrlePart(2, [1, 0, 3, 9, 1, 0x77]), /never sent/, "xbzrle.page"],
  ];
  for (const [what, part, msg, path] of cases) {
    const { block, section } = tiny();
    block.bytes.fill(0x42);
    const before = block.bytes.slice();
    const err = await loadChunks(section, [[START, "start"], [full, "part"], [part, "part"]]).then(
      () => undefined,
      (e) => e,
    );
    ok(err instanceof StreamFormatError, `${what}: ${err}`);
    strictEqual(err.kind, "corrupt");
    ok(msg.test(err.message), `${what}: ${err.message}`);
    strictEqual(err.path, path, what);
    strictEqual(err.section, "ram");
    section.abort();
    deepStrictEqual(block.bytes, before, `${what}: the page sent earlier is rolled back too`);
  }
});

Deno.test("xbzrle: resizing the cache mid-flight drops its pages, as QEMU's xbzrle_cache_resize", async () => {
  const { block, section } = tiny();
  section.xbzrleCacheSize = 4 * PS;
  block.bytes.set(pageOf(0x11), PS);
  section.saveSetup(new StreamWriter());
  await section.saveIterate(new StreamWriter());
  block.bytes[PS + 8] = 0x99;
  setPage(block.dirty, 1);
  section.syncDirty();
  await section.saveIterate(new StreamWriter()); // a miss: page 1 is cached now
  strictEqual(section.xbzrleCacheBytes, 4 * PS);
  section.resizeXbzrleCache(8 * PS);
  strictEqual(section.xbzrleCacheBytes, 8 * PS, "the new size is in force");
  block.bytes[PS + 9] = 0x77;
  setPage(block.dirty, 1);
  section.syncDirty();
  const after = new StreamWriter();
  await section.saveIterate(after);
  const bytes = after.take();
  strictEqual(bytes.length, 8 + PS + 8, "the cached copy went with the old cache: sent whole");
  strictEqual(section.stats.xbzrleCacheMisses, 2);
  throws(() => section.resizeXbzrleCache(3 * PS), /power of two/);
});

Deno.test("postcopy source: discard ranges of the dirty pages, requested pages first, the push", async () => {
  const { block, section } = tiny(8);
  section.saveSetup(new StreamWriter());
  await section.saveIterate(new StreamWriter());
  for (const p of [1, 2, 5]) setPage(block.dirty, p);
  deepStrictEqual(section.startPostcopy(), [{
    idstr: "blk",
    ranges: [[PS, 2 * PS], [5 * PS, PS]],
  }]);
  const w = new StreamWriter();
  strictEqual(await section.sendRequested(w, "blk", 5 * PS), true);
  strictEqual(await section.sendRequested(w, "blk", 5 * PS), false, "sent already");
  strictEqual(await section.sendRequested(w, "nope", 0), false);
  strictEqual(await section.sendSome(w, 1), 1);
  strictEqual(section.pendingPages, 1);
  strictEqual(await section.sendSome(w, 10), 1);
  strictEqual(section.pendingPages, 0);
});

Deno.test("postcopy destination: a discard un-receives pages; bad ranges are typed errors", async () => {
  const { section } = tiny();
  const full = b(be64(PS + RamFlag.ZERO), str8("blk"), 0, be64(RamFlag.EOS));
  await loadChunks(section, [[START, "start"], [full, "part"]]);
  const recv = section.receivedPages("blk")!;
  strictEqual(recv[0], 0b010);
  section.discard("blk", PS, PS, 0);
  strictEqual(recv[0], 0);
  throws(() => section.discard("blk", 1, PS, 7), /not page aligned/);
  throws(() => section.discard("blk", 2 * PS, 2 * PS, 7), /not page aligned inside/);
  throws(() => section.discard("other", 0, PS, 7), /unknown RAM block/);
});
