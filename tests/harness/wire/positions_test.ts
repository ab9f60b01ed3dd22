import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { FaultSpecError } from "../../../harness/wire/errors.ts";
import {
  fieldSection,
  formatPosition,
  parseOffset,
  parsePosition,
  resolvePosition,
} from "../../../harness/wire/positions.ts";
import { demoStream } from "./_streams.ts";

Deno.test("parsePosition() tells offsets, chunks, fields, eof and vmdesc apart", () => {
  deepStrictEqual(parsePosition("4096"), { kind: "offset", offset: 4096 });
  deepStrictEqual(parsePosition("0x1_000"), { kind: "offset", offset: 4096 });
  deepStrictEqual(parsePosition("ram"), { kind: "chunk", selector: "ram", plus: 0 });
  deepStrictEqual(parsePosition("ram@part2+0x10"), {
    kind: "chunk",
    selector: "ram@part2",
    plus: 16,
  });
  deepStrictEqual(parsePosition("snapshell-nvme#1"), {
    kind: "chunk",
    selector: "snapshell-nvme#1",
    plus: 0,
  });
  deepStrictEqual(parsePosition("serial.lsr"), { kind: "field", path: "serial.lsr", plus: 0 });
  deepStrictEqual(parsePosition("cpu/pmp.pmp[0].cfg_reg+1"), {
    kind: "field",
    path: "cpu/pmp.pmp[0].cfg_reg",
    plus: 1,
  });
  deepStrictEqual(parsePosition("EOF"), { kind: "eof", plus: 0 });
  deepStrictEqual(parsePosition("vmdesc+10"), { kind: "vmdesc", plus: 10 });
  throws(() => parsePosition(""), FaultSpecError);
  throws(() => parsePosition("a b"), FaultSpecError);
  throws(() => parseOffset("12x"), /not a number/);
  throws(() => parseOffset("99999999999999999999"), /too large/);
});

Deno.test("formatPosition() round-trips through parsePosition()", () => {
  const word = fc.oneof(
    fc.nat().map(String),
    fc.tuple(fc.constantFrom("ram", "ram@end", "serial", "goldfish_rtc"), fc.nat({ max: 1e6 }))
      .map(([s, n]) => (n ? `${s}+${n}` : s)),
    fc.tuple(fc.constantFrom("serial.lsr", "cpu.env.gpr[3]"), fc.nat({ max: 8 }))
      .map(([s, n]) => (n ? `${s}+${n}` : s)),
  );
  fc.assert(fc.property(word, (w) => {
    const p = parsePosition(w);
    deepStrictEqual(parsePosition(formatPosition(p)), p);
  }));
});

Deno.test("resolvePosition() finds chunks, fields, eof and vmdesc in a stream's layout", async () => {
  const layout = await layoutOfBytes(await demoStream());
  const part = layout.chunks.find((c) => c.selector === "ram@part")!;
  strictEqual(resolvePosition(parsePosition("ram@part+7"), layout, true)!.offset, part.offset + 7);
  const rtc = layout.chunks.find((c) => c.section === "goldfish_rtc")!;
  strictEqual(resolvePosition(parsePosition("rtc"), layout, true)!.chunk, rtc);
  const lsr = layout.fields.find((f) => f.path === "serial.serial.lsr")!;
  const r = resolvePosition(parsePosition("uart.lsr"), layout, true)!;
  strictEqual(r.offset, lsr.offset);
  strictEqual(r.field, lsr);
  strictEqual(resolvePosition(parsePosition("eof+1"), layout, true)!.offset, layout.eofOffset! + 1);
  strictEqual(
    resolvePosition(parsePosition("vmdesc"), layout, true)!.offset,
    layout.vmdesc!.offset,
  );
  strictEqual(resolvePosition(parsePosition("123"), layout, true)!.offset, 123);
  strictEqual(fieldSection(layout, "uart.lsr"), "serial");
  strictEqual(fieldSection(layout, "nothing.here"), undefined);
});

Deno.test("resolvePosition() waits on a live stream and refuses on a complete one", async () => {
  const layout = await layoutOfBytes(await demoStream());
  const partial = { ...layout, chunks: layout.chunks.slice(0, 2), fields: [] };
  strictEqual(resolvePosition(parsePosition("serial"), partial, false), undefined);
  strictEqual(resolvePosition(parsePosition("serial.lsr"), partial, false), undefined);
  throws(
    () => resolvePosition(parsePosition("nosuch+1"), layout, true),
    (e) => e instanceof FaultSpecError && /"nosuch\+1": no section "nosuch"/.test(e.message),
  );
  throws(() => resolvePosition(parsePosition("ram@part9"), layout, true), /has no part9 chunk/);
  throws(() => resolvePosition(parsePosition("serial.nope"), layout, true), /no field/);
  const noTrailer = { ...layout, vmdesc: undefined, eofOffset: undefined };
  throws(() => resolvePosition(parsePosition("vmdesc"), noTrailer, true), /no vmdesc/);
  throws(() => resolvePosition(parsePosition("eof"), noTrailer, true), /no EOF/);
  ok(resolvePosition(parsePosition("eof"), noTrailer, false) === undefined);
});
