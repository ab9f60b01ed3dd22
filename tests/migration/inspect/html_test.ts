import { ok, strictEqual } from "node:assert/strict";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { pageData, renderHtml } from "../../../migration/inspect/html.ts";
import { buildLayout } from "../../../migration/inspect/layout.ts";
import { bytesInput, inspect } from "../../../migration/inspect/mod.ts";
import { buildStream, fixture, hasFixture } from "./_stream.ts";

async function layoutOf(bytes: Uint8Array) {
  return await buildLayout(await inspect(bytesInput(bytes)), bytesAccess(bytes));
}

Deno.test("the page data has the stream in order, every chunk and field, and RAM pages", async () => {
  const s = buildStream();
  const d = pageData(await layoutOf(s.bytes));
  strictEqual(d.bar.reduce((n, b) => n + b.size, 0), s.bytes.length);
  strictEqual(d.chunks.length, 4);
  strictEqual(d.fields.length, 9);
  strictEqual(d.chunks[2].fields.length, 9);
  const blocks = new Map(d.ram.map((b) => [b.block, b]));
  strictEqual(blocks.get("a")!.pages, "zd");
  strictEqual(blocks.get("b/c")!.pages, "d");
  ok(blocks.get("a")!.offsets[1] > 0);
});

Deno.test("the page is self-contained and its data cannot close the script", async () => {
  const s = buildStream();
  const html = renderHtml(await layoutOf(s.bytes));
  ok(html.startsWith("<!doctype html>"));
  ok(!/<(script|link|img)[^>]+(src|href)=/i.test(html), "no external resources");
  const data = html.slice(html.indexOf('id="data">') + 10, html.indexOf("</script>"));
  ok(!data.includes("<"));
  strictEqual(JSON.parse(data).fields[0].path, "dev.neg");
});

Deno.test("QEMU's stream: its RAM blocks and its devices", async () => {
  if (!hasFixture("virt-running.qemu")) return;
  const d = pageData(await layoutOf(await Deno.readFile(fixture("virt-running.qemu"))));
  ok(d.ram.length >= 3);
  ok(d.ram.some((b) => b.block === "riscv_virt_board.ram" && b.pages.length === 4096));
  ok(d.chunks.some((c) => c.section === "serial" && c.fields.length === 10));
});
