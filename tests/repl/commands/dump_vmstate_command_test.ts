import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { formatDump, parseDump } from "../../../migration/compat/dump_model.ts";
import { captureContext } from "../_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("dump-vmstate prints the machine's descriptions in QEMU's -dump-vmstate layout", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "dump-vmstate"), 0);
  const text = ctx.outText() + "\n";
  const dump = parseDump(text);
  strictEqual(formatDump(dump), text, "exactly QEMU's layout");
  strictEqual(dump.machine, "virt");
  ok(dump.sections.has("serial-mm") && dump.sections.has("cpu"));
});

Deno.test("dump-vmstate FILE writes the file; --idstr keys sections by idstr", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const ctx = captureContext();
  strictEqual(await run(ctx, "dump-vmstate", path, "--idstr", "--with-num"), 0);
  ok(ctx.outText().startsWith(`dump-vmstate: ${path}:`));
  const dump = parseDump(await Deno.readTextFile(path));
  ok(dump.sections.has("serial") && !dump.sections.has("serial-mm"));
  ok((await Deno.readTextFile(path)).includes('"num": 32'));
});
