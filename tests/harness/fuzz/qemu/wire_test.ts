import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { runQemuWithFaults } from "../../../../harness/fuzz/qemu/wire.ts";
import { parseFault } from "../../../../harness/wire/fault_spec.ts";
import { FaultSpecError } from "../../../../harness/wire/errors.ts";
import { skip, snapshellQemus, tickerSeed } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";

Deno.test({
  name:
    `wire faults into QEMU's tcp incoming: cuts rejected where they hit, a stall loads${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const run = (words: string[]) => runQemuWithFaults(bytes, words.map(parseFault), { argv });

    const inRam = await run(["cut:ram@part+4096"]);
    strictEqual(inRam.outcome.class, "rejected", JSON.stringify(inRam.outcome));
    strictEqual(inRam.engine?.cut?.where.section, "ram");
    ok(inRam.engine!.sent < bytes.length);

    const inField = await run(["cut:goldfish_rtc.irq_enabled"]);
    strictEqual(inField.outcome.class, "rejected");
    ok(/goldfish_rtc/.test(inField.outcome.detail ?? ""), String(inField.outcome.detail));

    // QEMU treats the vmdesc trailer as optional: a stream cut right at it loads.
    const atTrailer = await run(["cut:vmdesc"]);
    strictEqual(atTrailer.outcome.class, "accepted", JSON.stringify(atTrailer.outcome));

    const stalled = await run(["stall:serial:300", "chunk:1400"]);
    strictEqual(stalled.outcome.class, "accepted", JSON.stringify(stalled.outcome));
    strictEqual(stalled.engine?.events[0]?.action, "stall");
    strictEqual(stalled.engine?.sent, bytes.length);
    ok(stalled.outcome.consoleBytes! > 0, "the guest runs after the stalled load");

    await rejects(run(["cut:nosuchsection"]), FaultSpecError, "a position the stream lacks");
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test({
  name: `wire faults into QEMU's exec: incoming (a command's stdout, a pipe from snapshell): ` +
    `classified like tcp${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const run = (words: string[], via: "tcp" | "exec") =>
      runQemuWithFaults(bytes, words.map(parseFault), { argv, via });

    const whole = await run([], "exec");
    strictEqual(whole.outcome.class, "accepted", JSON.stringify(whole.outcome));
    strictEqual(whole.engine?.sent, bytes.length);
    ok(whole.outcome.consoleBytes! > 0, "the guest runs after a load through a pipe");

    // A cut closes the FIFO: QEMU's command ends and its stream ends there.
    const inRam = await run(["cut:ram@part+4096"], "exec");
    strictEqual(inRam.outcome.class, "rejected", JSON.stringify(inRam.outcome));
    strictEqual(inRam.engine?.cut?.where.section, "ram");
    ok(inRam.engine!.sent < bytes.length);

    const atByte = await run(["cut:5000"], "exec");
    strictEqual(atByte.outcome.class, "rejected");
    strictEqual(atByte.engine?.sent, 5000);

    const inField = await run(["cut:goldfish_rtc.irq_enabled"], "exec");
    const inFieldTcp = await run(["cut:goldfish_rtc.irq_enabled"], "tcp");
    strictEqual(inField.outcome.class, "rejected");
    strictEqual(inField.outcome.detail, inFieldTcp.outcome.detail, "the same error text");
    ok(/goldfish_rtc/.test(inField.outcome.detail ?? ""), String(inField.outcome.detail));

    const atTrailer = await run(["cut:vmdesc"], "exec");
    strictEqual(atTrailer.outcome.class, "accepted", JSON.stringify(atTrailer.outcome));

    // A stall, a throttled link and small writes: the pipe waits, the load completes.
    const slow = await run(["stall:serial:300", "throttle:4M", "chunk:1400"], "exec");
    strictEqual(slow.outcome.class, "accepted", JSON.stringify(slow.outcome));
    strictEqual(slow.engine?.events[0]?.action, "stall");
    strictEqual(slow.engine?.sent, bytes.length);
    deepStrictEqual(await snapshellQemus(), [], "every QEMU (and its cat) is gone");
  },
});
