import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { walkRamRecords } from "../../../migration/inspect/ram_records.ts";
import { Bytes, page } from "./_stream.ts";

Deno.test("every record of a RAM payload is found with its byte range", async () => {
  const b = new Bytes();
  b.be64(0x3000n | 0x04n).str8("blk").be64(0x3000n); // MEM_SIZE + block list
  b.be64(0x10n); // EOS of the first chunk
  const second = b.at;
  b.be64(0x0n | 0x08n).str8("blk").raw(page(1)); // PAGE, named
  b.be64(0x1000n | 0x02n | 0x20n).u8(0); // ZERO, CONTINUE
  b.be64(0x2000n | 0x02n | 0x20n).u8(0x55); // ZERO with a fill byte
  b.be64(0x200n); // MULTIFD_FLUSH
  b.be64(0x10n);
  const bytes = b.bytes();
  const a = bytesAccess(bytes);
  const first = await walkRamRecords(a, 0, second, 4096);
  deepStrictEqual(first.records.map((r) => r.kind), ["mem-size", "block", "eos"]);
  strictEqual(first.records[1].addr, 0x3000);
  strictEqual(first.records[1].size, 1 + 3 + 8);
  const rest = await walkRamRecords(a, second, bytes.length, 4096);
  deepStrictEqual(rest.records.map((r) => [r.kind, r.addr, r.named, r.fill]), [
    ["page", 0, true, undefined],
    ["zero", 0x1000, false, 0],
    ["zero", 0x2000, false, 0x55],
    ["flush", undefined, undefined, undefined],
    ["eos", undefined, undefined, undefined],
  ]);
  strictEqual(rest.records[0].size, 8 + 4 + 4096);
  strictEqual(rest.current, "blk");
  strictEqual(rest.stoppedAt, undefined);
});

Deno.test("records that cannot be followed stop the walk where they start", async () => {
  const b = new Bytes().be64(0x1000n | 0x02n | 0x20n).u8(0); // CONTINUE with no block
  const w = await walkRamRecords(bytesAccess(b.bytes()), 0, 9, 4096);
  strictEqual(w.stoppedAt, 0);
  const x = new Bytes().be64(0x40n); // XBZRLE: not followed
  strictEqual((await walkRamRecords(bytesAccess(x.bytes()), 0, 8, 4096)).stoppedAt, 0);
  const cut = new Bytes().be64(0x08n).str8("blk").raw(page(0).subarray(0, 10));
  strictEqual((await walkRamRecords(bytesAccess(cut.bytes()), 0, cut.at, 4096)).stoppedAt, 0);
});
