import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { withCapabilitySet } from "../../../repl/commands/capabilities_command.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { captureContext } from "../_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("capabilities lists every extension, off by default", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "capabilities"), 0);
  for (const name of ["x-ptr-markers", "x-vmsd-markers", "x-self-describing"]) {
    ok(ctx.outText().includes(name), name);
  }
  ok(ctx.outText().includes("byte-identical to QEMU 7.2's"));
  ctx.clear();
  strictEqual(await run(ctx, "capabilities", "--json"), 0);
  const list = JSON.parse(ctx.outText()) as { name: string; on: boolean; recorded: boolean }[];
  // QEMU's four migration capabilities, then snapshell's six protocol extensions.
  deepStrictEqual(
    list.slice(0, 4).map((c) => [c.name, c.recorded]),
    [["xbzrle", false], ["auto-converge", false], ["pause-before-switchover", false], [
      "postcopy-ram",
      false,
    ]],
  );
  strictEqual(list.length, 10);
  ok(list.every((c) => !c.on));
});

Deno.test("set capability NAME on|off switches a session setting that saves and loads read", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "set", "capability", "x-vmsd-markers", "on"), 0);
  ok(ctx.outText().includes("capability x-vmsd-markers: on"), ctx.outText());
  deepStrictEqual([...ctx.session.capabilities], ["x-vmsd-markers"]);
  const w = new StreamWriter();
  await ctx.session.machine.save(w);
  const bytes = w.take();
  ok(new TextDecoder().decode(bytes.subarray(0, 200)).includes("x-vmsd-markers"));
  const report = await ctx.session.freshMachine().load(StreamReader.fromBytes(bytes));
  strictEqual(report.extensions?.vmsdMarkers, true);
  ctx.clear();
  strictEqual(await run(ctx, "capabilities", "--json"), 0);
  ok(JSON.parse(ctx.outText()).find((c: { name: string }) => c.name === "x-vmsd-markers").on);
  strictEqual(await run(ctx, "set", "capability", "x-vmsd-markers", "off"), 0);
  strictEqual(ctx.session.capabilities.size, 0);
});

Deno.test("set capability refuses unknown names and states as usage errors", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "set", "capability", "x-nope", "on"), 2);
  ok(ctx.errText().includes('Unknown capability "x-nope"'), ctx.errText());
  strictEqual(await run(ctx, "set", "capability", "x-vmsd-markers", "maybe"), 2);
  strictEqual(await run(ctx, "set", "capability", "x-vmsd-markers"), 2);
});

Deno.test("withCapabilitySet() keeps the wrapped set command working for everything else", async () => {
  const calls: string[][] = [];
  const wrapped = withCapabilitySet({
    name: "set",
    summary: "set a field",
    args: [{ name: "field", description: "DEVICE.FIELD" }, { name: "value", description: "VALUE" }],
    run: (_ctx, args) => {
      calls.push(args as string[]);
      return Promise.resolve(0);
    },
  });
  const ctx = captureContext();
  strictEqual(await runCommandLine([wrapped], ctx, ["set", "uart0.x", "5"]), 0);
  deepStrictEqual(calls, [["uart0.x", "5"]]);
  strictEqual(await runCommandLine([wrapped], ctx, ["set", "uart0.x", "5", "6"]), 2);
  strictEqual(
    await runCommandLine([wrapped], ctx, ["set", "capability", "x-ptr-markers", "on"]),
    0,
  );
  ok(ctx.session.capabilities.has("x-ptr-markers"));
  const alone = withCapabilitySet();
  strictEqual(await runCommandLine([alone], captureContext(), ["set", "speed", "9"]), 2);
});
