import { deepStrictEqual, ok } from "node:assert/strict";
import { allCommands } from "../../repl/commands/mod.ts";
import { completeLine, splitForCompletion } from "../../repl/completion.ts";
import { demoContext } from "./_io.ts";

const complete = async (line: string) => {
  const ctx = await demoContext();
  await ctx.session.store.save("before", ctx.session.machine);
  return await completeLine(allCommands(), ctx, line);
};

Deno.test("splitForCompletion() separates finished words from the partial one", () => {
  deepStrictEqual(splitForCompletion("load bef"), { words: ["load"], partial: "bef" });
  deepStrictEqual(splitForCompletion("load "), { words: ["load"], partial: "" });
  deepStrictEqual(splitForCompletion('send "hello wo'), { words: ["send"], partial: "hello wo" });
  deepStrictEqual(splitForCompletion(""), { words: [], partial: "" });
});

Deno.test("completeLine() completes command names and help NAME", async () => {
  deepStrictEqual(await complete("sa"), [["save"], "sa"]);
  const [hits, partial] = await complete("in");
  ok(hits.includes("info") && hits.includes("inspect") && partial === "in");
  ok(hits.every((h) => h.startsWith("in")));
  deepStrictEqual(await complete("qu"), [["quit"], "qu"]);
  deepStrictEqual(await complete("help sn"), [["snapshot", "snapshots"], "sn"]);
});

Deno.test("completeLine() completes options of the command being typed", async () => {
  deepStrictEqual(await complete("run --max"), [["--max-cycles"], "--max"]);
  deepStrictEqual(await complete("save x --f"), [["--force"], "--f"]);
});

Deno.test("completeLine() completes snapshot names, devices and field paths", async () => {
  deepStrictEqual(await complete("load b"), [["before"], "b"]);
  deepStrictEqual(await complete("diff machine b"), [["before"], "b"]);
  deepStrictEqual(await complete("info dev"), [["device", "devices"], "dev"]);
  ok((await complete("info device u"))[0].includes("uart0"));
  deepStrictEqual(await complete("set uart0.serial.ls"), [["uart0.serial.lsr"], "uart0.serial.ls"]);
  deepStrictEqual(await complete("expect lo"), [["load"], "lo"]);
  deepStrictEqual(await complete("expect load before fails c"), [["corrupt"], "c"]);
  deepStrictEqual(await complete("run unt"), [["until"], "unt"]);
});

Deno.test("completeLine() offers nothing for unknown commands or free text", async () => {
  deepStrictEqual(await complete("frobnicate x"), [[], "x"]);
  deepStrictEqual(await complete("send hel"), [[], "hel"]);
});
