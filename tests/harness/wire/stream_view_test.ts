import { ok, strictEqual, throws } from "node:assert/strict";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { FaultSpecError } from "../../../harness/wire/errors.ts";
import { parsePosition } from "../../../harness/wire/positions.ts";
import {
  describeIn,
  liveView,
  recordedView,
  renameEvents,
} from "../../../harness/wire/stream_view.ts";
import { demoStream } from "./_streams.ts";

Deno.test("recordedView() knows everything at once and refuses what is not there", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const view = recordedView(layout);
  strictEqual(view.limit(), Infinity);
  strictEqual(view.final, true);
  const serial = layout.chunks.find((c) => c.section === "serial")!;
  strictEqual(view.chunkAt(parsePosition("uart"))?.offset, serial.offset);
  strictEqual(view.resolve(parsePosition("serial.lsr"))?.field?.path, "serial.serial.lsr");
  strictEqual(view.holdFor("serial.lsr"), undefined);
  throws(() => view.resolve(parsePosition("virtio-net")), FaultSpecError);
  ok(describeIn(view, serial.offset).includes(`section "serial" (serial@full)`));
});

Deno.test("LiveView learns chunks as they pass and fields once the vmdesc has", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const rtc = layout.chunks.find((c) => c.section === "goldfish_rtc")!;
  const view = liveView();
  strictEqual(view.resolve(parsePosition("rtc+2")), undefined);
  strictEqual(view.holdFor("rtc.irq_enabled"), undefined, "no hold before the section is seen");
  await view.feed(bytes.subarray(0, rtc.payloadOffset + 4));
  strictEqual(view.resolve(parsePosition("rtc+2"))?.offset, rtc.offset + 2);
  strictEqual(view.chunkAt(parsePosition("rtc")), undefined, "its end is not known yet");
  strictEqual(view.resolve(parsePosition("rtc.irq_enabled")), undefined);
  strictEqual(view.holdFor("rtc.irq_enabled"), rtc.offset, "hold the section for the field");
  strictEqual(view.resolve(parsePosition("serial")), undefined, "not seen yet");
  strictEqual(view.name(rtc.payloadOffset).what, "payload");
  ok(view.limit() <= rtc.payloadOffset + 4);
  await view.feed(bytes.subarray(rtc.payloadOffset + 4));
  strictEqual(view.chunkAt(parsePosition("rtc"))?.size, rtc.size);
  strictEqual(view.final, false);
  await view.end(true);
  strictEqual(view.final, true);
  ok(view.fullLayout);
  strictEqual(view.limit(), Infinity);
  const irq = layout.fields.find((f) => f.path === "goldfish_rtc.irq_enabled")!;
  strictEqual(view.resolve(parsePosition("rtc.irq_enabled"))?.offset, irq.offset);
  strictEqual(view.holdFor("rtc.irq_enabled"), undefined);
  strictEqual(view.name(irq.offset).field, "goldfish_rtc.irq_enabled");
  throws(() => view.resolve(parsePosition("virtio-net")), FaultSpecError);
});

Deno.test("LiveView works the complete layout out only when asked", async () => {
  const bytes = await demoStream();
  const view = liveView();
  await view.feed(bytes);
  await view.end(false);
  strictEqual(view.fullLayout, undefined);
  strictEqual(view.name(bytes.length - 1).what, "vmdesc trailer");
  const events = [{
    fault: "cut:1",
    action: "cut" as const,
    sourceOffset: bytes.length - 1,
    destinationOffset: 0,
    length: 0,
    where: view.name(bytes.length - 1),
    detail: "",
  }];
  await view.learnLayout();
  renameEvents(events, view);
  strictEqual(events[0].where.what, "vmdesc trailer (vmdesc JSON)");
});

Deno.test("LiveView of a stream that stops early refuses fields and names by section", async () => {
  const bytes = await demoStream();
  const layout = await layoutOfBytes(bytes);
  const serial = layout.chunks.find((c) => c.section === "serial")!;
  const view = liveView();
  await view.feed(bytes.subarray(0, serial.offset + 30));
  await view.end(true);
  strictEqual(view.fullLayout, undefined);
  throws(() => view.resolve(parsePosition("serial.lsr")), /no usable vmdesc/);
  strictEqual(view.name(serial.offset + 29).chunk, "serial@full");
});
