/**
 * `replay FILE --to tcp:...` against a destination in this process: delivery, a cut with the
 * typed error both sides report, --recipe, --json and the usage errors.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { StateValidationError, StreamTruncatedError } from "../../migration/errors.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { replayFaults } from "../../repl/wire_replay.ts";
import { demoStream, destination } from "../harness/wire/_streams.ts";
import { captureContext } from "./_io.ts";

const run = (ctx: ReturnType<typeof captureContext>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

async function streamFile(): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".qemu" });
  await Deno.writeFile(file, await demoStream());
  return file;
}

Deno.test("replay FILE --to delivers a stream that the destination loads: exit 0", async () => {
  const file = await streamFile();
  const dst = await destination();
  const ctx = captureContext();
  const code = await run(
    ctx,
    "replay",
    file,
    "--to",
    `tcp:127.0.0.1:${dst.port}`,
    "--rate",
    "32M",
    "--chunk",
    "4096",
  );
  strictEqual(code, 0, ctx.errText());
  ok(!(await dst.received).error);
  const out = ctx.outText();
  ok(out.includes(`replay: sending ${file} (${(await demoStream()).length} bytes) to tcp:`), out);
  ok(
    /replay: sent \d+ bytes \(the stream up to byte \d+\); tcp:127\.0\.0\.1:\d+ loaded the stream \(\d+\.\d+ s\)/
      .test(out),
    out,
  );
});

Deno.test("replay FILE --to --cut-at fails typed, located in the section, like the destination", async () => {
  const file = await streamFile();
  const dst = await destination();
  const ctx = captureContext();
  strictEqual(
    await run(ctx, "replay", file, "--to", `tcp:127.0.0.1:${dst.port}`, "--cut-at", "ram@part+100"),
    1,
  );
  ok(
    /replay: cut:ram@part\+100: connection cut after \d+ bytes sent at byte \d+ \(0x[0-9a-f]+\), section "ram" \(ram@part\), RAM /
      .test(ctx.outText()),
    ctx.outText() + ctx.errText(),
  );
  ok(
    /TransportError \[environment\]: tcp:127\.0\.0\.1:\d+ rejected the stream after cut:ram@part\+100 \(RAM .*\) \(at section "ram", byte (\d+)/
      .test(ctx.errText()),
    ctx.errText(),
  );
  const got = await dst.received;
  ok(got.error instanceof StreamTruncatedError);
  strictEqual(got.error.section, "ram");
});

Deno.test("replay FILE --to --recipe sends the recipe's bytes; --json reports them", async () => {
  const file = await streamFile();
  const ctx = captureContext();
  strictEqual(
    await run(ctx, "corrupt", file, `${file}.bad`, "--set", "riscv_aclint_swi.msip=2"),
    0,
    ctx.errText(),
  );
  const dst = await destination();
  ctx.clear();
  const code = await run(
    ctx,
    "replay",
    file,
    "--to",
    `tcp:127.0.0.1:${dst.port}`,
    "--recipe",
    `${file}.bad.recipe.json`,
    "--stall-at",
    "serial:1",
    "--json",
  );
  strictEqual(code, 1);
  const json = JSON.parse(ctx.outText());
  strictEqual(json.verdict, "rejected");
  strictEqual(json.streamBytes, (await demoStream()).length);
  deepStrictEqual(json.events.map((e: { fault: string }) => e.fault), ["stall:serial:1ms"]);
  const got = await dst.received;
  ok(got.error instanceof StateValidationError, String(got.error));
  ctx.clear();
  strictEqual(
    await run(
      ctx,
      "replay",
      `${file}.bad`,
      "--to",
      "tcp:127.0.0.1:9",
      "--recipe",
      `${file}.bad.recipe.json`,
    ),
    1,
  );
  ok(/not the recipe's input/.test(ctx.errText()), ctx.errText());
});

Deno.test("replay --to refuses what it cannot do before connecting (exit 2)", async () => {
  const file = await streamFile();
  for (
    const [words, why] of [
      [["--to", "tcp:127.0.0.1:9", "--against", file], /either --to or --against/],
      [["--to", "file:/tmp/x"], /--to takes tcp:HOST:PORT/],
      [["--to", "nowhere"], /Invalid migration URI/],
      [["--to", "tcp:127.0.0.1:9", "--cut-at", "virtio-net"], /no section "virtio-net"/],
      [["--to", "tcp:127.0.0.1:9", "--stall-at", "ram"], /stall takes 2/],
      [["--to", "tcp:127.0.0.1:9", "--rate", "fast"], /not a positive number/],
      [["--to", "tcp:127.0.0.1:9", "--verdict-timeout", "-1"], /Invalid --verdict-timeout/],
      [["--to", "tcp:127.0.0.1:9", "--recipe", "/nonexistent.json"], /Cannot read recipe/],
    ] as const
  ) {
    const ctx = captureContext();
    const code = await run(ctx, "replay", file, ...words);
    ok(code === 2 || (code === 1 && /recipe/.test(String(why))), `${words.join(" ")}: ${code}`);
    ok(why.test(ctx.errText()), `${words.join(" ")}: ${ctx.errText()}`);
  }
  deepStrictEqual(replayFaults({ rate: "1M", chunk: "10", cutAt: "5", stallAt: "1:2s" }), [
    { kind: "throttle", rate: 1 << 20 },
    { kind: "chunk", size: 10 },
    { kind: "stall", at: { kind: "offset", offset: 1 }, ms: 2000 },
    { kind: "cut", at: { kind: "offset", offset: 5 } },
  ]);
});
