import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { captureContext } from "../_io.ts";

const GUESTS = new URL("../../../emu/guests/build/", import.meta.url).pathname;
const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("run prints the guest's console and exits with its status", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--ram", "16M"), 0);
  strictEqual(ctx.rawText(), "Hello from snapshell guest\n");
});

Deno.test("run --stats prints insns, seconds and mips as JSON on stderr", async () => {
  const ctx = captureContext();
  await run(ctx, "run", `${GUESTS}compute-small.elf`, "--ram", "16M", "--stats");
  const stats = JSON.parse(ctx.errText());
  ok(stats.insns > 400_000);
  ok(typeof stats.seconds === "number" && typeof stats.mips === "number");
});

Deno.test("run stops at --max-insns and says so with exit 124", async () => {
  const ctx = captureContext();
  strictEqual(
    await run(ctx, "run", `${GUESTS}compute.elf`, "--ram", "16M", "--max-insns", "10000"),
    124,
  );
  ok(ctx.errText().includes("stopped after 10000 instructions"));
});

Deno.test("run rejects a file that is not an ELF with a clear message", async () => {
  const ctx = captureContext();
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "not an elf at all");
  strictEqual(await run(ctx, "run", path), 1);
  ok(/ElfError: Not an ELF file/.test(ctx.errText()), ctx.errText());
  strictEqual(await run(ctx, "run", "/nonexistent/guest.elf"), 1);
  ok(ctx.errText().includes("Cannot read ELF"));
});

Deno.test("a wrong option is a usage error with exit 2", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--bogus"), 2);
  strictEqual(await run(ctx, "run", `${GUESTS}hello.elf`, "--ram", "12 parsecs"), 2);
});

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

Deno.test("check of a QEMU 7.2 stream names what this machine lacks", async () => {
  const ctx = captureContext();
  const f = new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url).pathname;
  strictEqual(await run(ctx, "check", f), 1);
  ok(ctx.errText().includes('Unknown ramblock "virt.flash0"'), ctx.errText());
});
