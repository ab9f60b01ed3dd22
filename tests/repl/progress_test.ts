import { ok, strictEqual } from "node:assert/strict";
import { progressOf, silentProgress, terminalProgress } from "../../repl/progress.ts";

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 80, write: (t: string) => (chunks.push(t), true), chunks };
}

Deno.test("terminalProgress() is silent when the stream is not a terminal", () => {
  const s = fakeStream(false);
  const bar = terminalProgress({ stream: s, delayMs: 0 })("save", 100);
  bar.update(50);
  bar.done();
  strictEqual(s.chunks.length, 0);
});

Deno.test("terminalProgress() draws a labelled bar on a terminal once work lasts", () => {
  const s = fakeStream(true);
  let now = 0;
  const bar = terminalProgress({ stream: s, delayMs: 100, now: () => now })("save big", 200 << 20);
  bar.update(1 << 20);
  strictEqual(s.chunks.length, 0, "nothing before the delay");
  now = 150;
  bar.update(100 << 20);
  bar.done();
  const text = s.chunks.join("");
  ok(text.includes("save big"), text);
  ok(text.includes("100.0 MiB/200.0 MiB"), text);
});

Deno.test("progressOf() falls back to a silent bar", () => {
  strictEqual(progressOf({}), silentProgress);
  const mine = () => ({ update() {}, done() {} });
  strictEqual(progressOf({ progress: mine }), mine);
});

Deno.test("terminalProgress() shows counts with a note, and plain ASCII with NO_COLOR", () => {
  const sgr = new RegExp(`${String.fromCharCode(27)}\\[[\\d;]*m`); // a colour escape
  for (const ascii of [false, true]) {
    const s = fakeStream(true);
    const bar = terminalProgress({ stream: s, delayMs: 0, ascii })("migrate", 4 << 20, "count");
    bar.update(1 << 20, undefined, "pages, round 0");
    bar.done();
    const text = s.chunks.join("");
    ok(text.includes("1048576/4194304 pages, round 0"), text);
    ok(!sgr.test(text), "bars carry no colour");
    strictEqual(text.includes("\u2588"), !ascii, "shades only when colours are allowed");
    strictEqual(/\[=+-+\]/.test(text), ascii, text);
  }
  const before = Deno.env.get("NO_COLOR");
  Deno.env.set("NO_COLOR", "1");
  try {
    const s = fakeStream(true);
    const bar = terminalProgress({ stream: s, delayMs: 0 })("save", 100);
    bar.update(50);
    bar.done();
    ok(!s.chunks.join("").includes("\u2588"), s.chunks.join(""));
  } finally {
    if (before === undefined) Deno.env.delete("NO_COLOR");
    else Deno.env.set("NO_COLOR", before);
  }
});
