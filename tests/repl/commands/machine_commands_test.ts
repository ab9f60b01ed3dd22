import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { captureContext } from "../_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("snapshot then check: a good file loads, a damaged one is rejected with its offset", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = captureContext();
  const file = `${dir}/demo.snap`;
  strictEqual(await run(ctx, "snapshot", file, "--ram", "16M", "--insns", "200000", "--stats"), 0);
  const st = JSON.parse(ctx.errText());
  strictEqual(st.bytes, (await Deno.stat(file)).size);
  ok(st.peakRssBytes > 0 && st.mbPerSecond > 0);
  strictEqual(await run(ctx, "check", file), 0);
  const bytes = await Deno.readFile(file);
  await Deno.writeFile(`${dir}/cut.snap`, bytes.subarray(0, 3000));
  const c2 = captureContext();
  strictEqual(await run(c2, "check", `${dir}/cut.snap`, "--json"), 1);
  const j = JSON.parse(c2.outText());
  strictEqual(j.ok, false);
  strictEqual(j.kind, "corrupt");
  strictEqual(j.offset, 3000);
});

Deno.test("snapshot --fill random:SEED is reproducible", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = captureContext();
  for (const n of ["a", "b"]) {
    strictEqual(
      await run(
        ctx,
        "snapshot",
        `${dir}/${n}`,
        "--ram",
        "16M",
        "--insns",
        "1000",
        "--fill",
        "random:7",
      ),
      0,
    );
  }
  const a = await Deno.readFile(`${dir}/a`);
  const b = await Deno.readFile(`${dir}/b`);
  ok(a.length > 16 << 20, "random RAM is sent as full pages");
  strictEqual(a.length, b.length);
  ok(a.every((v, i) => v === b[i]));
});

Deno.test("check of a QEMU 7.2 riscv virt stream picks the qemu-virt profile and loads it", async () => {
  for (const name of ["virt-reset", "virt-running", "virt-icount"]) {
    const ctx = captureContext();
    const f = new URL(`../../fixtures/qemu72/${name}.qemu`, import.meta.url).pathname;
    strictEqual(await run(ctx, "check", f), 0, ctx.errText());
    ok(ctx.outText().includes("loads"), ctx.outText());
  }
});
