/** The RAM undo journal: bits for known-zero pages, copies for the rest, exact restore. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { RamUndoJournal } from "../../../migration/ram/ram_journal.ts";

const PS = 4096;

Deno.test("restore() puts back copied pages and zeroes pages that were known zero", () => {
  const bytes = new Uint8Array(4 * PS);
  bytes.fill(7, PS, 2 * PS);
  const before = bytes.slice();
  const j = new RamUndoJournal(PS);
  j.before(bytes, 1, false);
  bytes.fill(9, PS, 2 * PS);
  j.before(bytes, 1, false); // a second write to the same page keeps the first copy
  bytes.fill(8, PS, 2 * PS);
  j.before(bytes, 3, true);
  bytes.fill(5, 3 * PS);
  strictEqual(j.copiedPages, 1, "only the page that may hold data was copied");
  deepStrictEqual([...j.changedPages(bytes)!], [0b1010]);
  j.restore();
  deepStrictEqual(bytes, before);
  strictEqual(j.changedPages(bytes), undefined, "restore forgets everything");
});

Deno.test("restore() undoes any sequence of page writes over several blocks", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ block: fc.nat(1), page: fc.nat(299), fill: fc.nat(255) }), {
        maxLength: 600,
      }),
      (writes) => {
        const blocks = [new Uint8Array(300 * PS), new Uint8Array(300 * PS)];
        blocks[0].fill(3, 0, 10 * PS);
        const before = blocks.map((x) => x.slice());
        const j = new RamUndoJournal(PS);
        for (const { block, page, fill } of writes) {
          const bytes = blocks[block];
          const zero = bytes.subarray(page * PS, (page + 1) * PS).every((v) => v === 0);
          j.before(bytes, page, zero);
          bytes.fill(fill, page * PS, (page + 1) * PS);
        }
        j.restore();
        deepStrictEqual(blocks, before);
      },
    ),
    { numRuns: 30 },
  );
});
