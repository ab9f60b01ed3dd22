import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { applyOps, encodeFieldValue } from "../../../migration/corrupt/apply.ts";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import { corruptBytes, layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import type { CorruptOp } from "../../../migration/corrupt/ops.ts";
import { resolveField } from "../../../migration/corrupt/selectors.ts";
import {
  FooterError,
  MigrationError,
  StreamFormatError,
  UnknownEntityError,
  VersionMismatchError,
} from "../../../migration/errors.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { demoSnapshot, loadError, qemuStream } from "./_snapshot.ts";

const snap = await demoSnapshot();
const layout = await layoutOfBytes(snap);
const corrupt = (...ops: CorruptOp[]) => corruptBytes(snap, ops);
const fieldValue = async (bytes: Uint8Array, path: string) => {
  const f = resolveField(await layoutOfBytes(bytes), path);
  return f.value.kind === "int" ? f.value.unsigned : undefined;
};

Deno.test("the unmodified demo snapshot loads (the baseline of every test here)", async () => {
  strictEqual(await loadError(snap), undefined);
});

Deno.test("byte operations change exactly the bytes they name", async () => {
  const flipped = await corrupt({ op: "flip", offset: 3, bit: 1 });
  strictEqual(flipped[3], snap[3] ^ 2);
  deepStrictEqual(flipped.subarray(4), snap.subarray(4));
  const set = await corrupt({ op: "set-byte", offset: 0, value: 0 });
  ok((await loadError(set)) instanceof StreamFormatError);
  const ins = await corrupt({ op: "insert", offset: 8, hex: "aabb" });
  deepStrictEqual([...ins.subarray(8, 10)], [0xaa, 0xbb]);
  strictEqual(ins.length, snap.length + 2);
  const del = await corrupt({ op: "delete", offset: 8, length: 4 });
  deepStrictEqual(del.subarray(8, 20), snap.subarray(12, 24));
  const cut = await corrupt({ op: "truncate", length: 100 });
  deepStrictEqual(cut, snap.subarray(0, 100));
  const spliced = await corrupt({
    op: "splice",
    offset: 0,
    length: 4,
    source: "-",
    sourceOffset: 4,
    sourceLength: 8,
  });
  deepStrictEqual(spliced.subarray(0, 8), snap.subarray(4, 12));
  deepStrictEqual(spliced.subarray(8), snap.subarray(4));
});

Deno.test("splice takes bytes from another stream", async () => {
  const other = await qemuStream();
  const layout2 = layout;
  const table = await applyOps({
    layout: layout2,
    input: bytesAccess(snap),
    openSource: () => Promise.resolve(bytesAccess(other, "qemu")),
  }, [{ op: "splice", offset: 10, length: 0, source: "qemu", sourceOffset: 0, sourceLength: 8 }]);
  deepStrictEqual(table.assemble(snap).subarray(10, 18), other.subarray(0, 8));
});

Deno.test("structure operations produce the loader errors they aim at", async () => {
  ok(
    (await loadError(await corrupt({ op: "drop-section", section: "uart" }))) instanceof
      UnknownEntityError,
  );
  const dup = await loadError(await corrupt({ op: "duplicate-section", section: "serial" }));
  ok(dup instanceof StreamFormatError && /twice/.test(dup.message), String(dup));
  const moved = await corrupt({ op: "move-section", section: "serial", before: "cpu" });
  strictEqual(moved.length, snap.length);
  strictEqual(await loadError(moved), undefined, "device sections may come in any order");
  const ver = await loadError(await corrupt({ op: "set-version", section: "serial", version: 4 }));
  ok(ver instanceof VersionMismatchError && ver.section === "serial", String(ver));
  const inst = await loadError(await corrupt({ op: "set-instance", section: "plic", instance: 1 }));
  ok(inst instanceof UnknownEntityError, String(inst));
  const foot = await loadError(await corrupt({ op: "break-footer", section: "rtc", how: "id" }));
  ok(foot instanceof FooterError && foot.section === "goldfish_rtc", String(foot));
  const dropped = await loadError(
    await corrupt({ op: "break-footer", section: "rtc", how: "drop" }),
  );
  ok(dropped instanceof FooterError, String(dropped));
});

Deno.test("subsection operations: drop, rename, version", async () => {
  const gone = await loadError(
    await corrupt({ op: "drop-subsection", subsection: "cpu/snapshell-counters" }),
  );
  ok(gone === undefined || gone instanceof MigrationError);
  const renamed = await loadError(
    await corrupt({ op: "rename-subsection", subsection: "cpu/pmp", to: "cpu/pmq" }),
  );
  ok(renamed instanceof UnknownEntityError && /cpu\/pmq/.test(renamed.message), String(renamed));
  const v = await loadError(
    await corrupt({ op: "set-subsection-version", subsection: "cpu/pmp", version: 2 }),
  );
  ok(v instanceof VersionMismatchError, String(v));
});

Deno.test("the vmdesc is advisory, but its length must fit the file", async () => {
  for (const how of ["drop", "json"] as const) {
    const bytes = await corrupt({ op: "damage-vmdesc", how });
    strictEqual(await loadError(bytes), undefined, how);
  }
  for (const how of ["length", "truncate", "marker"] as const) {
    const err = await loadError(await corrupt({ op: "damage-vmdesc", how }));
    ok(err instanceof MigrationError, how);
  }
});

Deno.test("set-field rewrites a field in place through the vmdesc", async () => {
  const b = await corrupt({ op: "set-field", path: "serial.lsr", value: "0xff" });
  strictEqual(b.length, snap.length);
  strictEqual(await fieldValue(b, "serial.lsr"), 0xffn);
  const t = await corrupt({ op: "set-field", path: "nvme.sq[3].tail", value: "65535" });
  strictEqual(await fieldValue(t, "nvme.sq[3].tail"), 65535n);
  const err = await loadError(t);
  ok(
    err instanceof MigrationError && err.section === "snapshell-nvme" &&
      /tail 65535/.test(err.message),
  );
});

Deno.test("set-field works on QEMU's stream too", async () => {
  const q = await qemuStream();
  const b = await corruptBytes(q, [{ op: "set-field", path: "serial.lsr", value: "0x61" }]);
  strictEqual(await fieldValue(b, "serial.lsr"), 0x61n);
});

Deno.test("values are encoded by type and refused when they do not fit", () => {
  const tail = resolveField(layout, "nvme.sq[3].tail");
  deepStrictEqual([...encodeFieldValue(tail, "65535")], [0xff, 0xff]);
  deepStrictEqual([...encodeFieldValue(tail, "-1")], [0xff, 0xff]);
  deepStrictEqual([...encodeFieldValue(tail, "0x102")], [0x01, 0x02]);
  throws(
    () => encodeFieldValue(tail, "65536"),
    (e) => e instanceof CorruptOpError && e.code === "range",
  );
  throws(
    () => encodeFieldValue(tail, "-32769"),
    (e) => e instanceof CorruptOpError && e.code === "range",
  );
  throws(
    () => encodeFieldValue(tail, "lots"),
    (e) => e instanceof CorruptOpError && e.code === "syntax",
  );
  const marker = resolveField(layout, "nvme.sq[3]");
  deepStrictEqual([...encodeFieldValue(marker, "0x30")], [0x30]);
});

Deno.test("a conflict names the operation that caused it", async () => {
  await rejects(
    corrupt({ op: "drop-section", section: "serial" }, {
      op: "set-field",
      path: "serial.lsr",
      value: "1",
    }),
    (e) => e instanceof CorruptOpError && e.code === "conflict" && e.opIndex === 1,
  );
  await rejects(
    corrupt({ op: "set-field", path: "serial.lsr", value: "256" }),
    (e) => e instanceof CorruptOpError && e.opIndex === 0 && /operation 1/.test(e.message),
  );
});

Deno.test("byte offsets past the input are refused", async () => {
  await rejects(corrupt({ op: "flip", offset: snap.length, bit: 0 }), CorruptOpError);
  await rejects(corrupt({ op: "delete", offset: snap.length - 2, length: 3 }), CorruptOpError);
});
