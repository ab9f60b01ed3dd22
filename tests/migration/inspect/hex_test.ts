import { ok, strictEqual } from "node:assert/strict";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { hexDump, renderHex } from "../../../migration/inspect/hex.ts";
import { buildLayout } from "../../../migration/inspect/layout.ts";
import { bytesInput, inspect } from "../../../migration/inspect/mod.ts";
import { buildStream, fixture, hasFixture } from "./_stream.ts";

async function dump(bytes: Uint8Array, maxBytes?: number) {
  const access = bytesAccess(bytes);
  return await hexDump(await buildLayout(await inspect(bytesInput(bytes)), access), access, {
    maxBytes,
  });
}

Deno.test("every range is labelled with its section and field path and value", async () => {
  const s = buildStream();
  const text = await dump(s.bytes);
  const line = (label: string) => text.split("\n").find((l) => l.includes(label));
  ok(line("magic")!.startsWith("00000000  51 45 56 4d"));
  ok(
    line("dev.neg = 0xfffffffe (-2) (int32)")!.startsWith(
      s.devPayload.toString(16).padStart(8, "0"),
    ),
  );
  ok(line("dev.arr[2] = 0xffff (uint16)"));
  ok(line("dev/sub.y"));
  ok(line("subsection dev/sub"));
  ok(line("dev: version_id"));
  ok(line("dev: footer"));
  ok(line('ram: "b/c" page 0x0 PAGE'));
  ok(line("EOF"));
  ok(line("vmdesc JSON"));
});

Deno.test("every byte appears once, long ranges folded to their first and last lines", async () => {
  const s = buildStream();
  const full = await dump(s.bytes, 1 << 20);
  const hexBytes = full.split("\n").slice(1).map((l) =>
    l.slice(10, 59).trim().split(/\s+/).filter(Boolean).length
  )
    .reduce((a, b) => a + b, 0);
  strictEqual(hexBytes, s.bytes.length);
  const folded = await dump(s.bytes);
  ok(/\.\.\. \d+ more bytes \.\.\./.test(folded));
  ok(folded.split("\n").length < full.split("\n").length);
});

Deno.test("lines are emitted one by one", async () => {
  const s = buildStream();
  const access = bytesAccess(s.bytes);
  const layout = await buildLayout(await inspect(bytesInput(s.bytes)), access);
  let n = 0;
  await renderHex(layout, access, () => n++);
  ok(n > 20);
});

Deno.test("QEMU's stream dumps with its fields named", async () => {
  if (!hasFixture("virt-running.qemu")) return;
  const text = await dump(await Deno.readFile(fixture("virt-running.qemu")));
  ok(text.includes("serial.serial.lsr = 0x60 (uint8)"));
  ok(/ZERO records "virt\.flash0"/.test(text), "runs of zero pages are folded");
});
