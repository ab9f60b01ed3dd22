import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { appendHistory, historyPath, loadHistory } from "../../repl/history.ts";

Deno.test("appendHistory() and loadHistory() keep lines, newest first, bounded", async () => {
  const path = `${await Deno.makeTempDir()}/hist`;
  deepStrictEqual(await loadHistory(path), []);
  for (const l of ["regs", "", "run 100", "save a"]) await appendHistory(path, l);
  deepStrictEqual(await loadHistory(path), ["save a", "run 100", "regs"]);
  deepStrictEqual(await loadHistory(path, 2), ["save a", "run 100"]);
});

Deno.test("history never breaks the shell: no path or an unwritable one is ignored", async () => {
  await appendHistory(undefined, "x");
  await appendHistory("/nonexistent-dir/hist", "x");
  deepStrictEqual(await loadHistory(undefined), []);
});

Deno.test("historyPath() follows SNAPSHELL_HISTORY, then HOME", () => {
  const saved = Deno.env.get("SNAPSHELL_HISTORY");
  try {
    Deno.env.set("SNAPSHELL_HISTORY", "/tmp/h");
    strictEqual(historyPath(), "/tmp/h");
    Deno.env.set("SNAPSHELL_HISTORY", "");
    strictEqual(historyPath(), undefined);
    Deno.env.delete("SNAPSHELL_HISTORY");
    strictEqual(historyPath(), `${Deno.env.get("HOME")}/.snapshell_history`);
  } finally {
    if (saved === undefined) Deno.env.delete("SNAPSHELL_HISTORY");
    else Deno.env.set("SNAPSHELL_HISTORY", saved);
  }
});
