import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { captureContext } from "../_io.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;
const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);
const subset = `${FIX}virt-subset.dump-vmstate.json`;
const mutated = `${FIX}virt-subset-mutated.dump-vmstate.json`;

async function qemuText(file: string): Promise<string> {
  const raw = await Deno.readTextFile(`${FIX}${file}`);
  return raw.split("\n").filter((l) => !l.startsWith("#") && l !== "").join("\n");
}

Deno.test("compat OLD NEW --qemu-only prints and exits exactly as vmstate-static-checker.py", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "compat", subset, mutated, "--qemu-only"), 7);
  strictEqual(ctx.outText(), await qemuText("virt-subset.static-checker-forward.txt"));
  const rev = captureContext();
  strictEqual(await run(rev, "compat", subset, mutated, "--reverse", "--qemu-only"), 2);
  strictEqual(rev.outText(), await qemuText("virt-subset.static-checker-reverse.txt"));
});

Deno.test("compat OLD NEW adds what the protocol extensions make of each finding", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "compat", subset, mutated), 7);
  const out = ctx.outText();
  ok(out.startsWith(await qemuText("virt-subset.static-checker-forward.txt")));
  ok(out.includes("with snapshell's protocol extensions:"));
  ok(out.includes('[safe] Section "serial-mm"'), out);
  ok(out.includes('subsection "pflash_cfi01_blk_write" of "pflash_cfi01"'), out);
  const json = captureContext();
  strictEqual(await run(json, "compat", subset, mutated, "--json"), 7);
  const parsed = JSON.parse(json.outText());
  strictEqual(parsed.exitCode, 7);
  strictEqual(parsed.extensions.length, 7);
});

Deno.test("compat on a snapshell dump and itself finds nothing", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const ctx = captureContext();
  strictEqual(await run(ctx, "dump-vmstate", path), 0);
  ctx.clear();
  strictEqual(await run(ctx, "compat", path, path), 0);
  strictEqual(ctx.outText(), "");
});

Deno.test("compat --stream answers whether a stream loads into the current machine", async () => {
  const ctx = captureContext();
  const path = await Deno.makeTempFile();
  const w = new StreamWriter();
  await ctx.session.machine.save(w, { capabilities: ["x-self-describing"] });
  await Deno.writeFile(path, w.take());
  strictEqual(await run(ctx, "compat", "--stream", path), 0);
  ok(ctx.outText().includes("stream: capability x-self-describing"), ctx.outText());
  ok(ctx.outText().includes("yes: the stream loads here"), ctx.outText());
  ctx.clear();
  strictEqual(await run(ctx, "compat", "--stream", path, "--decode"), 0);
  ok(ctx.outText().includes("serial v3: serial v3"), ctx.outText());
  ctx.clear();
  // QEMU 7.2's riscv virt stream is judged against the qemu-virt machine it needs.
  strictEqual(await run(ctx, "compat", "--stream", `${FIX}virt-running.qemu`), 0);
  ok(ctx.outText().includes("here: machine qemu-virt with 16 MiB RAM"), ctx.outText());
  ok(ctx.outText().includes("yes: the stream loads here"), ctx.outText());
});

Deno.test("compat without two dumps or with --decode alone is a usage error", async () => {
  strictEqual(await run(captureContext(), "compat", subset), 2);
  strictEqual(await run(captureContext(), "compat", subset, mutated, "--decode"), 2);
});
