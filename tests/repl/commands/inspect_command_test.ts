import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { captureContext } from "../_io.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;
const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("inspect --format analyze prints what analyze-migration.py prints for a QEMU stream", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", `${FIX}virt-running.qemu`, "--format", "analyze"), 0);
  deepStrictEqual(
    JSON.parse(ctx.outText()),
    JSON.parse(await Deno.readTextFile(`${FIX}virt-running.analyze.json`)),
  );
});

Deno.test("inspect --format desc prints what analyze-migration.py -d desc prints", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", `${FIX}virt-reset.qemu`, "--format", "desc"), 0);
  deepStrictEqual(
    JSON.parse(ctx.outText()),
    JSON.parse(await Deno.readTextFile(`${FIX}virt-reset.desc.json`)),
  );
});

Deno.test("inspect shows a readable tree by default, and rejects an unknown format", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", `${FIX}virt-running.qemu`), 0);
  ok(ctx.outText().includes("riscv_virt_board.ram"));
  ok(ctx.outText().includes("serial"));
  strictEqual(
    await run(captureContext(), "inspect", `${FIX}virt-running.qemu`, "--format", "xml"),
    2,
  );
});

Deno.test("inspect of a truncated stream shows what it can and exits 1", async () => {
  const bytes = await Deno.readFile(`${FIX}virt-running.qemu`);
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, bytes.subarray(0, 1000));
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", path), 1);
  ok(ctx.outText().includes("header"), ctx.outText());
  ok(ctx.errText().length > 0);
});

Deno.test("inspect --hex labels every byte range with its section and field path", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", `${FIX}virt-running.qemu`, "--hex"), 0);
  const text = ctx.outText();
  ok(/^00000000 {2}51 45 56 4d .* magic$/m.test(text));
  ok(text.includes("serial.serial.lsr = 0x60 (uint8)"));
  ok(text.includes("serial: footer"));
});

Deno.test("inspect --html writes one self-contained page", async () => {
  const out = await Deno.makeTempFile({ suffix: ".html" });
  const ctx = captureContext();
  strictEqual(await run(ctx, "inspect", `${FIX}virt-running.qemu`, "--html", out), 0);
  const html = await Deno.readTextFile(out);
  ok(html.startsWith("<!doctype html>") && html.includes('"path":"serial.serial.lsr"'));
  ok(/wrote .* \(\d+ chunks, \d+ fields\)/.test(ctx.errText()), ctx.errText());
});
