import { ok } from "node:assert/strict";
import { PAGE_SCRIPT, PAGE_STYLE } from "../../../migration/inspect/html_assets.ts";

Deno.test("the page script is valid JavaScript and needs nothing from outside the page", () => {
  new Function(PAGE_SCRIPT); // compiles (not run: it needs a document)
  ok(!/\bimport\b|\bfetch\(|XMLHttpRequest/.test(PAGE_SCRIPT));
  ok(!PAGE_STYLE.includes("url("));
});
