import { ok, strictEqual } from "node:assert/strict";
import { colors, colorWanted, renderTable } from "../../repl/style.ts";

Deno.test("renderTable() gives aligned plain columns off a terminal", () => {
  strictEqual(
    renderTable(["name", "size"], [["a", 1], ["long-name", 12345]], false),
    "name       size\na          1\nlong-name  12345",
  );
});

Deno.test("renderTable() draws a box on a terminal", () => {
  const t = renderTable(["name"], [["a"]], true);
  ok(t.startsWith("┌"), t);
  ok(t.includes("│ a"), t);
});

Deno.test("no colours when NO_COLOR is set", () => {
  const saved = Deno.env.get("NO_COLOR");
  try {
    Deno.env.set("NO_COLOR", "1");
    strictEqual(colorWanted(), false);
  } finally {
    if (saved === undefined) Deno.env.delete("NO_COLOR");
    else Deno.env.set("NO_COLOR", saved);
  }
});

Deno.test("colours are identity functions when not wanted", () => {
  if (!colorWanted()) strictEqual(colors.red("x"), "x");
  else ok(colors.red("x").includes("\x1b["));
});
