import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { applyOps, type CorruptOp, layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { TransportError } from "../../../migration/errors.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { FaultSpecError } from "../../../harness/wire/errors.ts";
import {
  checkFaults,
  type EngineInput,
  formatEvent,
  runFaults,
} from "../../../harness/wire/fault_engine.ts";
import { type Fault, parseFault } from "../../../harness/wire/fault_spec.ts";
import {
  LiveView,
  recordedView,
  renameEvents,
  type StreamView,
} from "../../../harness/wire/stream_view.ts";
import { bytesInput } from "../../../harness/wire/wire_io.ts";
import { demoStream } from "./_streams.ts";

/** An output into memory. */
function memory() {
  const parts: Uint8Array[] = [];
  return {
    write(b: Uint8Array) {
      parts.push(b.slice());
      return Promise.resolve();
    },
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}

/** Input in pieces cut at `cuts`. */
function pieces(bytes: Uint8Array, cuts: number[]): EngineInput {
  const ends = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length)), bytes.length]
    .sort((a, b) => a - b);
  let i = 0;
  let at = 0;
  return {
    read() {
      if (i >= ends.length) return Promise.resolve(null);
      const out = bytes.subarray(at, ends[i]);
      at = ends[i++];
      return Promise.resolve(out);
    },
  };
}

const noSleep = () => Promise.resolve();

async function run(bytes: Uint8Array, view: StreamView, faults: Fault[], input?: EngineInput) {
  const out = memory();
  const result = await runFaults(input ?? bytesInput(bytes), out, view, faults, {
    sleep: noSleep,
  });
  return { out: out.bytes(), result };
}

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("byte faults give what corrupt gives, on a recorded and on a live stream", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const view = recordedView(layout);
  // Up to four disjoint ranges, each with a fault of a random kind, then maybe a cut.
  const plan = fc.record({
    starts: fc.uniqueArray(fc.nat({ max: bytes.length - 64 }), { minLength: 1, maxLength: 4 }),
    kinds: fc.array(fc.constantFrom("flip", "set", "write", "drop", "dup"), {
      minLength: 4,
      maxLength: 4,
    }),
    lens: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 4, maxLength: 4 }),
    bits: fc.array(fc.nat({ max: 7 }), { minLength: 4, maxLength: 4 }),
    cut: fc.option(fc.nat({ max: bytes.length }), { nil: undefined }),
    cuts: fc.array(fc.nat({ max: bytes.length }), { maxLength: 6 }),
  });
  await fc.assert(
    fc.asyncProperty(plan, async ({ starts, kinds, lens, bits, cut, cuts }) => {
      const sorted = [...starts].sort((a, b) => a - b);
      const faults: Fault[] = [];
      const ops: CorruptOp[] = [];
      let end = 0;
      let shift = 0; // output bytes minus input bytes before `end`
      sorted.forEach((at, i) => {
        if (at < end) return; // keep ranges disjoint
        const len = Math.min(lens[i], (sorted[i + 1] ?? bytes.length) - at);
        end = at + len;
        const k = kinds[i];
        if (k === "flip") {
          faults.push(parseFault(`flip:${at}:${bits[i]}`));
          ops.push({ op: "flip", offset: at, bit: bits[i] });
        } else if (k === "set") {
          faults.push(parseFault(`set:${at}:${bits[i] * 31}`));
          ops.push({ op: "set-byte", offset: at, value: bits[i] * 31 });
        } else if (k === "write") {
          const b = bytes.slice(at, at + len).map((x) => x ^ 0x5a);
          faults.push(parseFault(`write:${at}:${hexOf(b)}`));
          b.forEach((v, j) => ops.push({ op: "set-byte", offset: at + j, value: v }));
        } else if (k === "drop") {
          faults.push(parseFault(`drop:${at}:${len}`));
          ops.push({ op: "delete", offset: at, length: len });
          shift -= len;
        } else {
          faults.push(parseFault(`dup:${at}:${len}`));
          ops.push({ op: "insert", offset: at, hex: hexOf(bytes.subarray(at, at + len)) });
          shift += len;
        }
      });
      // A cut is at a source offset: the output ends where that byte would have gone.
      const cutting = cut !== undefined && cut >= end;
      if (cutting) faults.push(parseFault(`cut:${cut}`));
      let want = (await applyOps({ layout, input: bytesAccess(bytes) }, ops)).assemble(bytes);
      if (cutting) want = want.subarray(0, cut + shift);
      const recorded = await run(bytes, view, faults);
      deepStrictEqual(recorded.out, want);
      strictEqual(recorded.result.unreached.length, 0, JSON.stringify(recorded.result.unreached));
      strictEqual(recorded.result.events.length, faults.length);
      const live = await run(bytes, new LiveView(), faults, pieces(bytes, cuts));
      deepStrictEqual(live.out, want);
      deepStrictEqual(
        live.result.events.map((e) => [e.fault, e.sourceOffset, e.destinationOffset, e.length]),
        recorded.result.events.map((e) => [e.fault, e.sourceOffset, e.destinationOffset, e.length]),
      );
    }),
    { numRuns: 25 },
  );
});

Deno.test("named faults hit the same bytes live (learnt while passing) and recorded", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const words = [
    "flip:goldfish_rtc.irq_enabled:1",
    "field:serial.lsr=0x61",
    "drop:riscv_mtimer",
    "dup:riscv_aclint_swi",
    "set:ram@part+9:0x42",
    "stall:vmdesc:5",
  ];
  const faults = words.map(parseFault);
  const recorded = await run(bytes, recordedView(layout), faults);
  for (const cuts of [[], [1, 2, 3, 4096, 300_000], [...Array(40).keys()].map((i) => i * 997)]) {
    const view = new LiveView();
    const live = await run(bytes, view, faults, pieces(bytes, cuts));
    deepStrictEqual(live.out, recorded.out);
    ok(view.fullLayout, "learnt for the field faults");
    renameEvents(live.result.events, view);
    deepStrictEqual(live.result.events, recorded.result.events);
  }
  const lines = recorded.result.events.map(formatEvent);
  const rtc = layout.fields.find((f) => f.path === "goldfish_rtc.irq_enabled")!;
  ok(
    lines.includes(
      `flip:goldfish_rtc.irq_enabled:1: bit 1 of field goldfish_rtc.irq_enabled: 01 -> 03 at ` +
        `byte ${rtc.offset + 3} (0x${(rtc.offset + 3).toString(16)}), section "goldfish_rtc" ` +
        "(goldfish_rtc@full), field goldfish_rtc.irq_enabled",
    ),
    lines.join("\n"),
  );
  ok(lines.some((l) => /^field:serial\.lsr=0x61: field serial\.serial\.lsr: 60 -> 61 at/.test(l)));
  ok(
    lines.some((l) => /^drop:riscv_mtimer: 39 bytes \(chunk riscv_mtimer@full\) left out/.test(l)),
  );
  ok(
    lines.some((l) =>
      /^dup:riscv_aclint_swi: 39 bytes \(chunk riscv_aclint_swi@full\) sent tw/.test(l)
    ),
  );
  ok(
    lines.some((l) =>
      /^stall:vmdesc:5ms: stalled 5 ms after \d+ bytes sent at .*vmdesc marker/.test(l)
    ),
  );
  strictEqual(recorded.out.length, bytes.length - 39 + 39);
});

Deno.test("a cut stops everything; stalls wait on the clock; faults past the end never fire", async () => {
  const bytes = await demoStream();
  const view = recordedView(await layoutOfBytes(bytes));
  const waits: number[] = [];
  const out = memory();
  const result = await runFaults(
    bytesInput(bytes, 1000),
    out,
    view,
    [
      parseFault("stall:10:250"),
      parseFault("stall:10:0.5s"),
      parseFault("cut:5000"),
      parseFault("flip:6000"),
    ],
    { sleep: (ms) => (waits.push(ms), Promise.resolve()) },
  );
  deepStrictEqual(waits, [250, 500]);
  deepStrictEqual(out.bytes(), bytes.subarray(0, 5000));
  strictEqual(result.cut?.sourceOffset, 5000);
  strictEqual(result.sourceEnded, false);
  deepStrictEqual(result.unreached, [{
    fault: "flip:6000:0",
    reason: "the stream stopped before byte 6000",
  }]);
  const beyond = await run(bytes, view, [parseFault(`cut:${bytes.length + 5}`)]);
  deepStrictEqual(beyond.out, bytes);
  deepStrictEqual(beyond.result.unreached, [{
    fault: `cut:${bytes.length + 5}`,
    reason: `byte ${bytes.length + 5} is beyond the end of the stream (${bytes.length} bytes)`,
  }]);
  const inside = await run(bytes, view, [parseFault("drop:100:50"), parseFault("cut:120")]);
  deepStrictEqual(inside.result.unreached.map((u) => u.fault), ["cut:120"]);
  ok(/already past/.test(inside.result.unreached[0].reason));
});

Deno.test("failures of either end are reported where they happened, not thrown", async () => {
  const bytes = await demoStream();
  const view = recordedView(await layoutOfBytes(bytes));
  let written = 0;
  const result = await runFaults(
    bytesInput(bytes, 4096),
    {
      write(b) {
        if (written + b.length > 10_000) return Promise.reject(new TransportError("peer gone"));
        written += b.length;
        return Promise.resolve();
      },
    },
    view,
    [],
  );
  strictEqual(result.failure?.side, "destination");
  strictEqual(result.failure?.error.reason, "peer gone");
  strictEqual(result.failure?.where.offset, 8192);
  strictEqual(result.failure?.where.section, "ram");
  let reads = 0;
  const broken: EngineInput = {
    read: () =>
      reads++ < 2
        ? Promise.resolve(bytes.subarray((reads - 1) * 100, reads * 100))
        : Promise.reject(new TransportError("reset")),
  };
  const r2 = await runFaults(broken, memory(), new LiveView(), [parseFault("cut:serial")]);
  strictEqual(r2.failure?.side, "source");
  strictEqual(r2.failure?.where.offset, 200);
  deepStrictEqual(r2.unreached.map((u) => u.reason), ["its position never appeared in the stream"]);
});

Deno.test("checkFaults() refuses names a recorded stream does not have", async () => {
  const view = recordedView(await layoutOfBytes(await demoStream()));
  checkFaults(view, [parseFault("cut:ram@end"), parseFault("field:uart.lsr=1")]);
  throws(() => checkFaults(view, [parseFault("cut:virtio-net")]), FaultSpecError);
  throws(() => checkFaults(view, [parseFault("field:serial.lsr=0x1ff")]), /does not fit/);
  throws(() => checkFaults(view, [parseFault("flip:serial.lsr:8")]), /outside serial\.serial\.lsr/);
});

Deno.test("a live view never forwards past what it has understood", async () => {
  const bytes = await demoStream();
  const view = new LiveView();
  const forwarded: number[] = [];
  let total = 0;
  const out = {
    write(b: Uint8Array) {
      total += b.length;
      forwarded.push(total);
      ok(total <= view.limit() || view.final, `${total} > ${view.limit()}`);
      return Promise.resolve();
    },
  };
  const result = await runFaults(pieces(bytes, [5, 17, 30, 90, 4000, 70_000]), out, view, []);
  strictEqual(total, bytes.length);
  strictEqual(result.handled, bytes.length);
  strictEqual(view.fullLayout, undefined, "no field fault: the complete layout is not worked out");
});
