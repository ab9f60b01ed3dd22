import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { StreamTruncatedError } from "../../../migration/errors.ts";
import { runCommandLine } from "../../../repl/cli.ts";
import { expectFails, parseFailureExpectation } from "../../../repl/commands/expect_fails.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import type { ShellContext } from "../../../repl/session.ts";
import { type CommandDef, UsageError } from "../../../repl/commands/types.ts";
import { captureContext } from "../_io.ts";

Deno.test("parseFailureExpectation() reads KIND|any, an optional section and the command", () => {
  deepStrictEqual(parseFailureExpectation(["corrupt", "in", "ram", "incoming", "x"]), {
    kind: "corrupt",
    section: "ram",
    command: ["incoming", "x"],
  });
  deepStrictEqual(parseFailureExpectation(["any", "step"]), { command: ["step"] });
  for (const bad of [[], ["maybe", "step"], ["corrupt"], ["corrupt", "in", "ram"]]) {
    throws(() => parseFailureExpectation(bad), UsageError, bad.join(" "));
  }
});

const refuse = (m: string) => new Error(`refused: ${m}`);

/** Commands that fail in each way, for expectFails. */
const probes: CommandDef<ShellContext>[] = [
  {
    name: "cut",
    summary: "throws a located truncation",
    run: () => Promise.reject(new StreamTruncatedError(3, 1, { offset: 9, section: "ram" })),
  },
  { name: "status", summary: "returns 1", run: () => Promise.resolve(1) },
  { name: "fine", summary: "succeeds", run: () => Promise.resolve(0) },
  {
    name: "odd",
    summary: "throws a plain error",
    run: () => Promise.reject(new RangeError("odd")),
  },
];

Deno.test("expectFails() holds for the expected kind and section, and says why not otherwise", async () => {
  const ctx = captureContext();
  const go = (...w: string[]) => expectFails(ctx, w, refuse, probes);
  ok(
    (await go("corrupt", "in", "RAM", "cut")).startsWith(
      '"cut" fails (corrupt): StreamTruncatedError',
    ),
  );
  ok((await go("any", "status")).includes("status 1"));
  ok((await go("any", "odd")).includes("odd"));
  await rejects(go("incompatible", "cut"), /failed as corrupt, expected incompatible/);
  await rejects(go("corrupt", "in", "cpu", "cut"), /failed in section "ram", expected "cpu"/);
  await rejects(go("any", "fine"), /refused: "fine" succeeded, expected it to fail/);
  await rejects(go("corrupt", "status"), /status 1 but without a typed error/);
  await rejects(go("corrupt", "odd"), RangeError);
  await rejects(go("any", "nosuch"), /unknown command/i);
});

Deno.test("expect fails, through the real commands: a bad stream changes nothing", async () => {
  const ctx = captureContext();
  const dir = await Deno.makeTempDir();
  try {
    const run = (...w: string[]) => runCommandLine(allCommands(), ctx, w);
    strictEqual(await run("snapshot", `${dir}/a.qemu`, "--insns", "1000"), 0, ctx.errText());
    const bytes = await Deno.readFile(`${dir}/a.qemu`);
    await Deno.writeFile(`${dir}/cut.qemu`, bytes.subarray(0, 100));
    strictEqual(await run("save", "before", "--force"), 0, ctx.errText());
    ctx.clear();
    strictEqual(
      await run("expect", "fails", "corrupt", "in", "ram", "incoming", `file:${dir}/cut.qemu`),
      0,
      ctx.errText(),
    );
    ok(
      /^ok: "incoming file:.*" fails \(corrupt\): StreamTruncatedError \[corrupt\]/m.test(
        ctx.outText(),
      ),
      ctx.outText(),
    );
    strictEqual(await run("expect", "equal", "machine", "before"), 0, ctx.errText());
    strictEqual(await run("expect", "fails", "environment", "incoming", `file:${dir}/cut.qemu`), 1);
    ok(
      /ExpectationError: "incoming file:.*" failed as corrupt, expected environment/.test(
        ctx.errText(),
      ),
      ctx.errText(),
    );
    strictEqual(await run("expect", "fails", "any", "step"), 1);
    strictEqual(await run("expect", "fails", "sometimes", "step"), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
