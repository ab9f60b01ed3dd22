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
