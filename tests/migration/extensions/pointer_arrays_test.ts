import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { MigrationError, UnknownEntityError } from "../../../migration/errors.ts";
import {
  adoptsSourcePopulation,
  hasSlotMarkers,
  pointerVariant,
  slotAction,
} from "../../../migration/extensions/pointer_arrays.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { VMS } from "../../../migration/vmstate/flags.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { NVME_MAX_QID, vmstateNvmeSq } from "../../../emu/devices/nvme.ts";
import { DEFAULT_GUEST, VirtMachine } from "../../../emu/virt.ts";
import { b, caught, hex } from "../_helpers.ts";
import { loadWith, saveJsonWith, saveWith } from "./_walk.ts";

const slot = F.vmsd({ name: "slot", fields: [F.uint8("a")] });
const table = (o: F.PointerArrayOptions) =>
  F.vmsd({ name: "t", fields: [F.pointerArray("q", slot, { num: 2, ...o })] });
const nullptr = table({});
const autoAlloc = table({ autoAlloc: true });
const alloc = table({ alloc: true });

Deno.test("pointerVariant() names the three protocols and which put a marker on every slot", () => {
  const f = (d: typeof nullptr) => d.fields[0].flags;
  strictEqual(pointerVariant(f(nullptr)), "nullptr");
  strictEqual(pointerVariant(f(autoAlloc)), "auto-alloc");
  strictEqual(pointerVariant(f(alloc)), "alloc");
  strictEqual(pointerVariant(VMS.STRUCT | VMS.ARRAY), undefined);
  strictEqual(hasSlotMarkers(f(nullptr), false), false);
  strictEqual(hasSlotMarkers(f(nullptr), true), true);
  strictEqual(hasSlotMarkers(f(autoAlloc), false), true);
  strictEqual(hasSlotMarkers(f(alloc), false), true);
  strictEqual(adoptsSourcePopulation(f(nullptr)), false);
  strictEqual(adoptsSourcePopulation(f(alloc)), true);
  strictEqual(f(alloc) & (VMS.POINTER | VMS.ALLOC), VMS.POINTER | VMS.ALLOC);
});

Deno.test("slotAction(): allocating variants follow the stream, plain ones must agree", () => {
  const fa = autoAlloc.fields[0].flags;
  strictEqual(slotAction(fa, true, false), "allocate");
  strictEqual(slotAction(fa, true, true), "allocate");
  strictEqual(slotAction(fa, false, true), "clear");
  const fn = nullptr.fields[0].flags;
  strictEqual(slotAction(fn, true, true), "load-existing");
  strictEqual(slotAction(fn, false, false), "skip");
  throws(() => slotAction(fn, true, false), UnknownEntityError);
  throws(() => slotAction(fn, false, true), /NULL but it is populated here/);
});

Deno.test("ALLOC | ARRAY_OF_POINTER writes the same bytes as AUTO_ALLOC", () => {
  const state = { q: [null, { a: 7 }] };
  const wire = b(0x30, 0x31, 7);
  strictEqual(hex(saveWith(autoAlloc, state)), hex(wire));
  strictEqual(hex(saveWith(alloc, state)), hex(wire));
  strictEqual(hex(saveWith(nullptr, state)), hex(b(0x30, 7)));
  strictEqual(hex(saveWith(nullptr, state, { ptrMarkers: true })), hex(wire));
});

// The disagreement matrix: the source and destination populate different slots.

Deno.test("nullptr, source NULL where the destination is populated: a silent misread", () => {
  const wire = saveWith(nullptr, { q: [null, { a: 7 }] }); // 30 07
  const got = loadWith(nullptr, wire, { q: [{ a: 1 }, { a: 1 }] });
  // The NULL marker was read as slot 0's field and slot 1 got the right value by luck.
  deepStrictEqual(got, { q: [{ a: 0x30 }, { a: 7 }] });
});

Deno.test("nullptr, source populated where the destination is NULL: a marker error", () => {
  const wire = saveWith(nullptr, { q: [{ a: 0x42 }, null] }); // 42 30
  const e = caught(() => loadWith(nullptr, wire, { q: [null, null] })) as MigrationError;
  ok(e.message.includes("get_nullptr expected VMS_NULLPTR_MARKER, got 0x42"), e.message);
  strictEqual(e.path, "t.q[0]");
});

Deno.test("nullptr under x-ptr-markers: both disagreements are typed errors at the slot", () => {
  const opts = { ptrMarkers: true };
  const a = caught(() =>
    loadWith(nullptr, saveWith(nullptr, { q: [null, { a: 7 }] }, opts), {
      q: [{ a: 1 }, { a: 1 }],
    }, opts)
  ) as MigrationError;
  strictEqual(a instanceof UnknownEntityError, true);
  strictEqual(a.kind, "incompatible");
  strictEqual(a.path, "t.q[0]");
  ok(a.message.includes("NULL but it is populated here"));
  const c = caught(() =>
    loadWith(nullptr, saveWith(nullptr, { q: [{ a: 0x42 }, null] }, opts), {
      q: [null, null],
    }, opts)
  ) as MigrationError;
  ok(c.message.includes("populated but it is NULL here"));
  strictEqual(c.offset, 0);
  // When both sides agree, the marked stream loads into the existing records.
  deepStrictEqual(
    loadWith(nullptr, saveWith(nullptr, { q: [{ a: 5 }, null] }, opts), {
      q: [{ a: 1 }, null],
    }, opts),
    { q: [{ a: 5 }, null] },
  );
});

Deno.test("auto-alloc and alloc: the destination adopts the source's population", () => {
  for (const d of [autoAlloc, alloc]) {
    deepStrictEqual(
      loadWith(d, saveWith(d, { q: [null, { a: 7 }] }), { q: [{ a: 1 }, { a: 1 }] }),
      {
        q: [null, { a: 7 }],
      },
    );
    deepStrictEqual(loadWith(d, saveWith(d, { q: [{ a: 0x42 }, null] }), { q: [null, null] }), {
      q: [{ a: 0x42 }, null],
    });
  }
});

Deno.test("alloc re-creates a VARRAY table at the source's count; auto-alloc keeps its capacity", () => {
  const varTable = (o: F.PointerArrayOptions) =>
    F.vmsd({
      name: "v",
      fields: [
        F.uint8("n"),
        F.pointerArray("q", slot, { countKey: "n", countType: "uint8", ...o }),
      ],
    });
  const src = { n: 3, q: [{ a: 1 }, null, { a: 3 }] };
  const wire = b(3, 0x31, 1, 0x30, 0x31, 3);
  const av = varTable({ autoAlloc: true });
  const lv = varTable({ alloc: true });
  strictEqual(hex(saveWith(av, src)), hex(wire));
  strictEqual(hex(saveWith(lv, src)), hex(wire));
  const e = caught(() => loadWith(av, wire, { n: 0, q: [null, null] }));
  ok(e.message.includes("exceeds its capacity of 2"), e.message);
  deepStrictEqual(loadWith(lv, wire, { n: 0, q: [null, null] }), src);
});

Deno.test("ALLOC | ARRAY_OF_POINTER is described like AUTO_ALLOC in the vmdesc (never compressed)", () => {
  const state = { q: [{ a: 7 }, { a: 8 }] };
  const json = saveJsonWith(alloc, state);
  strictEqual(json, saveJsonWith(autoAlloc, state));
  ok(json.includes('"type": "ptr-marker"'));
  ok(!json.includes("array_len"));
  strictEqual(
    saveJsonWith(nullptr, state, { ptrMarkers: true }),
    json,
    "x-ptr-markers describes its markers the same way",
  );
});

Deno.test("a marker byte other than 0x30/0x31 is rejected in every marked variant", () => {
  for (
    const [d, opts] of [[autoAlloc, {}], [alloc, {}], [nullptr, { ptrMarkers: true }]] as const
  ) {
    throws(
      () => loadWith(d, b(0x32, 0x30), { q: [null, null] }, opts),
      /Unexpected ptr marker: 50/,
    );
  }
});

// The NVMe-style device's queue tables (9 slots, AUTO_ALLOC): the demo guest after 1M
// instructions has created I/O queues 1 and 3 beside the admin pair, leaving a hole at 2.
const elf = await Deno.readFile(DEFAULT_GUEST);
function demoMachine(insns: number): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(elf);
  m.run(insns);
  return m;
}
const populated = (t: unknown[]) => t.map((x) => (x ? 1 : 0));

Deno.test("the NVMe queue tables load into a machine whose slots differ, both ways", async () => {
  const running = demoMachine(1_000_000);
  deepStrictEqual(populated(running.nvme.state.sq), [1, 1, 0, 1, 0, 0, 0, 0, 0]);
  const w = new StreamWriter();
  await running.save(w);
  const fresh = demoMachine(0);
  deepStrictEqual(populated(fresh.nvme.state.sq), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  await fresh.load(StreamReader.fromBytes(w.take()));
  deepStrictEqual(fresh.nvme.state.sq, running.nvme.state.sq);
  deepStrictEqual(fresh.nvme.state.cq, running.nvme.state.cq);
  const reset = new StreamWriter();
  await demoMachine(0).save(reset);
  await running.load(StreamReader.fromBytes(reset.take()));
  deepStrictEqual(populated(running.nvme.state.cq), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("the same NVMe table under the fixed-NULL protocol breaks on the first disagreement", () => {
  const running = demoMachine(1_000_000);
  const classic = F.vmsd({
    name: "snapshell-nvme-classic",
    fields: [F.pointerArray("sq", vmstateNvmeSq, { num: NVME_MAX_QID + 1 })],
  });
  const wire = saveWith(classic, { sq: running.nvme.state.sq });
  const empty = () => ({ sq: Array.from({ length: NVME_MAX_QID + 1 }, () => null) });
  const e = caught(() => loadWith(classic, wire, empty())) as MigrationError;
  ok(e.message.includes("get_nullptr expected VMS_NULLPTR_MARKER"), e.message);
  strictEqual(e.path, "snapshell-nvme-classic.sq[0]");
  const marked = saveWith(classic, { sq: running.nvme.state.sq }, { ptrMarkers: true });
  const m = caught(() =>
    loadWith(classic, marked, empty(), { ptrMarkers: true })
  ) as MigrationError;
  strictEqual(m.kind, "incompatible");
  strictEqual(m.path, "snapshell-nvme-classic.sq[0]");
});
