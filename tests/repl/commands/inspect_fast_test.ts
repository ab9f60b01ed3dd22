import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseInspectWords, runInspectFast } from "../../../repl/commands/inspect_fast.ts";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { captureContext } from "../_io.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;

Deno.test("inspect fast path: plain command lines parse as the full command line reads them", () => {
  deepStrictEqual(parseInspectWords(["f.mig"]), { file: "f.mig", opts: { format: "tree" } });
  deepStrictEqual(parseInspectWords(["--format", "analyze", "f"]), {
    file: "f",
    opts: { format: "analyze" },
  });
  deepStrictEqual(parseInspectWords(["f", "--format=desc", "--dump-memory", "--hex"]), {
    file: "f",
    opts: { format: "desc", dumpMemory: true, hex: true },
  });
  deepStrictEqual(parseInspectWords(["--extract", "d", "--html", "o.html", "-"]), {
    file: "-",
    opts: { format: "tree", extract: "d", html: "o.html" },
  });
});

Deno.test("inspect fast path: help, errors and anything unusual go to the full command line", () => {
  for (
    const words of [
      [],
      ["--help"],
      ["-h", "f"],
      ["f", "g"],
      ["--format"],
      ["--format", "--hex", "f"],
      ["--format=", "f"],
      ["--bogus", "f"],
      ["--hex=1", "f"],
      ["--", "f"],
    ]
  ) strictEqual(parseInspectWords(words), undefined, words.join(" "));
});

Deno.test("inspect fast path: same output and status as the full command line", async () => {
  for (
    const words of [
      [`${FIX}virt-running.qemu`, "--format", "analyze"],
      [`${FIX}virt-reset.qemu`, "--format=desc"],
      [`${FIX}virt-running.qemu`],
      [`${FIX}no-such-file.qemu`],
      [`${FIX}virt-running.qemu`, "--format", "yaml"],
    ]
  ) {
    const fast = captureContext();
    const full = captureContext();
    const code = await runInspectFast(words, fast);
    strictEqual(code, await runCommandLine(allCommands(), full, ["inspect", ...words]));
    deepStrictEqual([fast.outText(), fast.errText()], [full.outText(), full.errText()]);
  }
});
