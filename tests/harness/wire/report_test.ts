import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { TransportError } from "../../../migration/errors.ts";
import type { EngineResult, FaultEvent } from "../../../harness/wire/fault_engine.ts";
import {
  decisiveEvent,
  notLoadedError,
  reportJson,
  reportLines,
  summaryLines,
} from "../../../harness/wire/report.ts";

function event(action: FaultEvent["action"], offset: number, section?: string): FaultEvent {
  return {
    fault: `${action}:${offset}`,
    action,
    sourceOffset: offset,
    destinationOffset: offset,
    length: 0,
    where: { offset, ...(section ? { section, chunk: `${section}@full` } : {}), what: "payload" },
    detail: "did it",
  };
}

function engine(events: FaultEvent[], extra: Partial<EngineResult> = {}): EngineResult {
  return {
    received: 100,
    handled: 90,
    sent: 80,
    sourceEnded: false,
    events,
    unreached: [],
    ...extra,
  };
}

Deno.test("decisiveEvent() prefers the cut, then a stall, then the first fault", () => {
  const flip = event("flip", 5, "ram");
  const stall = event("stall", 7, "cpu");
  const cut = event("cut", 9, "serial");
  strictEqual(decisiveEvent(engine([flip, stall], { cut })), cut);
  strictEqual(decisiveEvent(engine([flip, stall])), stall);
  strictEqual(decisiveEvent(engine([flip])), flip);
  strictEqual(decisiveEvent(engine([])), undefined);
});

Deno.test("notLoadedError() is a TransportError located where the fault hit", () => {
  const cut = event("cut", 9, "serial");
  const e = notLoadedError(engine([cut], { cut }), { outcome: "rejected" }, "tcp:h:1");
  ok(e instanceof TransportError);
  strictEqual(e.kind, "environment");
  strictEqual(e.offset, 9);
  strictEqual(e.section, "serial");
  strictEqual(
    e.message,
    'tcp:h:1 rejected the stream after cut:9 (payload) (at section "serial", byte 9 (0x9))',
  );
  const failure = {
    side: "destination" as const,
    error: new TransportError("gone"),
    where: { offset: 40, what: "EOF marker" },
  };
  const quiet = notLoadedError(engine([], { failure }), { outcome: "none", reason: "closed" }, "d");
  strictEqual(quiet.offset, 40);
  strictEqual(quiet.section, undefined);
  ok(/d did not load the stream \(no verdict from d: closed\)/.test(quiet.message));
});

Deno.test("summaryLines() and reportJson() say what happened", () => {
  const cut = event("cut", 9, "serial");
  const result = engine([cut], {
    cut,
    unreached: [{ fault: "flip:99:0", reason: "the stream stopped before byte 99" }],
  });
  deepStrictEqual(summaryLines(result, { outcome: "rejected" }, "d"), [
    "flip:99:0: never fired: the stream stopped before byte 99",
    "sent 80 bytes (the stream up to byte 90); d rejected the stream",
  ]);
  strictEqual(
    reportLines(result, { outcome: "rejected" }, "d")[0],
    'cut:9: did it at byte 9 (0x9), section "serial" (serial@full), payload',
  );
  const json = reportJson(result, { outcome: "none", reason: "x" }, { target: "d" });
  strictEqual(json.target, "d");
  strictEqual(json.verdict, "none");
  strictEqual(json.verdictReason, "x");
  strictEqual(json.failure, null);
  strictEqual(JSON.parse(JSON.stringify(json)).events[0].where.section, "serial");
});
