import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { MigrationError, StreamTruncatedError, TransportError } from "../../../migration/errors.ts";
import { FaultSpecError } from "../../../harness/wire/errors.ts";
import { parseFault } from "../../../harness/wire/fault_spec.ts";
import { pacingOf, replayTo } from "../../../harness/wire/replay_to.ts";
import { demoStream, destination, saveToBytes } from "./_streams.ts";

Deno.test("replayTo() delivers a stream whole: the destination loads the same machine", async () => {
  const bytes = await demoStream();
  const dst = await destination();
  const events: string[] = [];
  const report = await replayTo(bytes, "127.0.0.1", dst.port, {
    faults: [parseFault("throttle:64M"), parseFault("chunk:1400")],
    onEvent: (e) => events.push(e.fault),
  });
  deepStrictEqual(report.verdict, { outcome: "loaded" });
  strictEqual(report.engine.sent, bytes.length);
  deepStrictEqual(events, []);
  const got = await dst.received;
  ok(!got.error, String(got.error));
  deepStrictEqual(await saveToBytes(got.machine!), bytes);
});

Deno.test("replayTo() cut in the RAM section: both sides name the offset and section", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const part = layout.chunks.find((c) => c.selector === "ram@part")!;
  const dst = await destination();
  const report = await replayTo(bytes, "127.0.0.1", dst.port, {
    faults: [parseFault("cut:ram@part+5000")],
  });
  strictEqual(report.verdict.outcome, "rejected");
  strictEqual(report.engine.cut?.sourceOffset, part.offset + 5000);
  strictEqual(report.engine.cut?.where.section, "ram");
  strictEqual(report.engine.sent, part.offset + 5000);
  const got = await dst.received;
  ok(got.error instanceof StreamTruncatedError, String(got.error));
  strictEqual(got.error.section, "ram");
  strictEqual(got.error.offset, part.offset + 5000);
});

Deno.test("replayTo() stall past the idle timeout: the destination gives up, typed, in the section", async () => {
  const bytes = await demoStream();
  const dst = await destination({ timeoutMs: 20_000, idleTimeoutMs: 50 });
  // The stall lasts until the destination has given up: no guessing how long that takes.
  const report = await replayTo(bytes, "127.0.0.1", dst.port, {
    faults: [parseFault("stall:cpu+10:60000")],
    sleep: () => dst.received.then(() => {}),
  });
  strictEqual(report.engine.events[0].where.section, "cpu");
  ok(report.verdict.outcome !== "loaded");
  const got = await dst.received;
  ok(got.error instanceof TransportError, String(got.error));
  ok(/no answer within 0.05 s/.test(got.error.message), got.error.message);
  strictEqual(got.error.offset, report.engine.events[0].sourceOffset);
});

Deno.test("replayTo() a cut after EOF loads (the vmdesc is optional); one inside the trailer does not", async () => {
  const bytes = await demoStream();
  const first = await destination();
  const after = await replayTo(bytes, "127.0.0.1", first.port, {
    faults: [parseFault("cut:eof+1")],
  });
  deepStrictEqual(after.verdict, { outcome: "loaded" });
  ok(!(await first.received).error);
  const second = await destination();
  const inside = await replayTo(bytes, "127.0.0.1", second.port, {
    faults: [parseFault("cut:vmdesc+5")],
  });
  strictEqual(inside.verdict.outcome, "rejected");
  strictEqual(inside.engine.cut?.where.what, "vmdesc trailer (vmdesc JSON)");
  const got = await second.received;
  ok(got.error instanceof StreamTruncatedError);
});

Deno.test("replayTo() refuses unknown names before it connects", async () => {
  const bytes = await demoStream();
  // Nothing listens on port 9: a connection attempt would be a TransportError instead.
  await rejects(
    replayTo(bytes, "127.0.0.1", 9, { faults: [parseFault("cut:virtio-net+3")] }),
    FaultSpecError,
  );
  deepStrictEqual(
    pacingOf([parseFault("throttle:1M"), parseFault("chunk:9"), parseFault("throttle:2M")]),
    {
      rate: 2 << 20,
      chunk: 9,
    },
  );
});

Deno.test("a stream cut anywhere is loaded whole or refused with a typed error, never half", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), async (cut) => {
      const dst = await destination();
      const report = await replayTo(bytes, "127.0.0.1", dst.port, {
        faults: [parseFault(`cut:${cut}`)],
      });
      const got = await dst.received;
      if (cut === layout.vmdesc!.offset) {
        // Exactly the stream without its optional trailer.
        ok(!got.error && report.verdict.outcome === "loaded");
        return;
      }
      ok(got.error instanceof MigrationError, `cut at ${cut}: ${got.error}`);
      strictEqual(got.error.kind, "corrupt");
      // Reported at the item the cut fell in (never past the bytes that came).
      ok(got.error.offset !== undefined && got.error.offset <= cut, got.error.message);
      strictEqual(report.verdict.outcome, "rejected");
    }),
    { numRuns: 10 },
  );
});
