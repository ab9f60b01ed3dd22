import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { aliasHelp, aliasNote, expandAlias, QEMU_ALIASES } from "../../repl/aliases.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { runLine } from "../../repl/shell.ts";
import { demoContext } from "./_io.ts";

Deno.test("expandAlias() turns QEMU's monitor words into ours", () => {
  deepStrictEqual(expandAlias(["info", "migrate"]).words, ["migrate-status"]);
  strictEqual(expandAlias(["info", "status"]).alias, undefined, "the same word here");
  deepStrictEqual(expandAlias(["info", "migrate_capabilities"]).words, ["capabilities"]);
  deepStrictEqual(expandAlias(["c"]).words, ["run"]);
  deepStrictEqual(expandAlias(["cont"]).words, ["run"]);
  deepStrictEqual(expandAlias(["q"]).words, ["quit"]);
  deepStrictEqual(expandAlias(["savevm", "a"]).words, ["save", "a", "--force"]);
  deepStrictEqual(expandAlias(["loadvm", "a"]).words, ["load", "a"]);
  deepStrictEqual(expandAlias(["delvm", "a"]).words, ["delete", "a"]);
  deepStrictEqual(expandAlias(["migrate_cancel"]).words, ["migrate-cancel"]);
  deepStrictEqual(expandAlias(["migrate_continue", "pre-switchover"]).words, [
    "migrate-continue",
    "pre-switchover",
  ]);
  deepStrictEqual(
    expandAlias(["migrate_set_parameter", "downtime_limit", "50"]).words,
    ["migrate-set-parameters", "--downtime-limit", "50"],
  );
  deepStrictEqual(
    expandAlias(["migrate_set_capability", "x-vmsd-markers", "on"]).words,
    ["set", "capability", "x-vmsd-markers", "on"],
  );
  strictEqual(expandAlias(["info", "devices"]).alias, undefined, "our own words stay");
  strictEqual(expandAlias(["run", "5"]).alias, undefined);
});

Deno.test("every alias leads to a command that exists, and help lists them", () => {
  const names = new Set([...allCommands().map((d) => d.name), "quit"]);
  for (const a of QEMU_ALIASES) ok(names.has(a.ours(["x"])[0]), a.qemu.join(" "));
  for (const a of QEMU_ALIASES) ok(aliasHelp().includes(a.qemu.join(" ")), a.qemu.join(" "));
  strictEqual(aliasNote(QEMU_ALIASES[0]), `(QEMU's "info migrate": here "migrate-status")`);
});

Deno.test("the shell runs QEMU's words with a note of ours", async () => {
  const ctx = await demoContext();
  strictEqual(await runLine(allCommands(), ctx, "info status"), 0);
  ok(ctx.outText().includes("VM status: paused"), ctx.outText());
  strictEqual(await runLine(allCommands(), ctx, "savevm first"), 0, ctx.errText());
  strictEqual(await runLine(allCommands(), ctx, "savevm first"), 0, "savevm overwrites");
  ok(ctx.outText().includes(`(QEMU's "savevm": here "save NAME --force")`), ctx.outText());
  strictEqual(await runLine(allCommands(), ctx, "loadvm first"), 0, ctx.errText());
  strictEqual(await runLine(allCommands(), ctx, "delvm first"), 0, ctx.errText());
  strictEqual(await runLine(allCommands(), ctx, "info migrate"), 0);
  ok(ctx.outText().includes("Migration status: none"), ctx.outText());
  strictEqual(await runLine(allCommands(), ctx, "q"), "quit");
});
