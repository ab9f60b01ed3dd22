/**
 * `proxy LISTEN TARGET FAULTS...` in this process, between a replayed source and a destination:
 * its log (faults named by section, field once the vmdesc passed), --json, exit statuses and
 * usage errors.
 */
import { ok, strictEqual } from "node:assert/strict";
import { StateValidationError } from "../../../migration/errors.ts";
import { parseFault } from "../../../harness/wire/fault_spec.ts";
import { replayTo } from "../../../harness/wire/replay_to.ts";
import { runCommandLine } from "../../../repl/cli.ts";
import { tcpAddress } from "../../../repl/commands/proxy_command.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { demoStream, destination } from "../../harness/wire/_streams.ts";
import { captureContext, until } from "../_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

/** Start `proxy` with `words` in front of a fresh destination; replay the demo stream into it. */
async function throughProxy(words: string[], source: string[] = []) {
  const dst = await destination();
  const ctx = captureContext();
  const code = run(ctx, "proxy", "tcp:127.0.0.1:0", `tcp:127.0.0.1:${dst.port}`, ...words);
  await until(() => /listening on/.test(ctx.outText()));
  const port = Number(/listening on tcp:127\.0\.0\.1:(\d+)/.exec(ctx.outText())![1]);
  const report = await replayTo(await demoStream(), "127.0.0.1", port, {
    faults: source.map(parseFault),
  });
  return { ctx, code: await code, report, received: await dst.received };
}

Deno.test("proxy logs a field flip by name and exits 0; the destination refuses the stream", async () => {
  const { ctx, code, report, received } = await throughProxy(["flip:riscv_aclint_swi.msip:1"]);
  strictEqual(code, 0, ctx.errText());
  strictEqual(report.verdict.outcome, "rejected");
  ok(received.error instanceof StateValidationError);
  const out = ctx.outText();
  ok(/^proxy: listening on tcp:127\.0\.0\.1:\d+$/m.test(out), out);
  ok(/proxy: source 127\.0\.0\.1:\d+ connected; forwarding to tcp:127\.0\.0\.1:\d+/.test(out), out);
  ok(
    /proxy: flip:riscv_aclint_swi\.msip:1: bit 1 of field riscv_aclint_swi\.msip: 00 -> 02 at byte \d+ \(0x[0-9a-f]+\), section "riscv_aclint_swi" \(riscv_aclint_swi@full\), field riscv_aclint_swi\.msip/
      .test(out),
    out,
  );
  ok(
    /proxy: sent \d+ bytes \(the stream up to byte \d+\); tcp:127\.0\.0\.1:\d+ rejected the stream/
      .test(out),
    out,
  );
});

Deno.test("proxy names an early fault by section, then by field once the layout is known", async () => {
  const { ctx, code } = await throughProxy(["set:goldfish_rtc+30:0"]);
  strictEqual(code, 0, ctx.errText());
  const out = ctx.outText();
  ok(
    /proxy: set:goldfish_rtc\+30:0x0: byte rewritten: .* section "goldfish_rtc" \(goldfish_rtc@full\), payload$/m
      .test(out),
    out,
  );
  ok(
    /proxy: with the stream's complete layout \(vmdesc seen\), those faults hit:\nproxy: {3}set:goldfish_rtc\+30:0x0: .*field goldfish_rtc\./
      .test(out),
    out,
  );
});

Deno.test("proxy --json reports; a fault that never fires makes it exit 1", async () => {
  const { ctx, code } = await throughProxy(["cut:virtio-net", "--json"]);
  strictEqual(code, 1);
  const line = ctx.outText().split("\n").find((l) => l.startsWith("{"))!;
  const json = JSON.parse(line);
  strictEqual(json.verdict, "loaded");
  strictEqual(json.layoutKnown, true);
  strictEqual(json.unreached[0].fault, "cut:virtio-net");
  ok(/proxy: 1 fault\(s\) never fired/.test(ctx.errText()), ctx.errText());
});

Deno.test("proxy refuses bad addresses and fault words (exit 2)", async () => {
  for (
    const [words, why] of [
      [["nowhere", "tcp:127.0.0.1:1"], /Invalid listen address "nowhere"/],
      [["tcp:127.0.0.1:0", "file:/x"], /Invalid target "file:\/x"/],
      [["127.0.0.1:0", "127.0.0.1:1", "smash:3"], /"smash:3": unknown fault/],
      [["127.0.0.1:0", "127.0.0.1:1", "--timeout", "0"], /Invalid --timeout/],
    ] as const
  ) {
    const ctx = captureContext();
    strictEqual(await run(ctx, "proxy", ...words), 2, words.join(" "));
    ok(why.test(ctx.errText()), ctx.errText());
  }
  strictEqual(tcpAddress("127.0.0.1:80", "x").port, 80);
  strictEqual(tcpAddress("tcp:[::1]:80", "x").host, "::1");
});
