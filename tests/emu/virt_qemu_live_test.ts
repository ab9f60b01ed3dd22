/**
 * Live, QEMU 7.2 -> snapshell over a real TCP socket: QEMU runs the `timer` guest (its virtual
 * clock on the host's, `-icount shift=0,sleep=on`, so the guest is still ticking while precopy
 * runs), QMP `migrate tcp:` sends it into the shell's `incoming tcp:` after several dirty-page
 * syncs; snapshell runs it on, and what QEMU printed before the switch-over followed by what
 * snapshell prints after it is exactly the guest's whole output.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext, testSession, until } from "../repl/_io.ts";
import { firstDifference, patchedGuest, startQemu } from "./_qemu_virt.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc

const TICKS = 200;

/** The timer guest's whole output for {@link TICKS} ticks. */
function timerOutput(interval: number): string {
  let s = `timer: ${TICKS} ticks, interval ${interval}\n`;
  for (let i = 1; i <= TICKS; i++) s += `tick ${i}\n`;
  return s + "timer: done\n";
}

Deno.test({
  name:
    `live QEMU 7.2 -> snapshell over tcp (QMP migrate while the guest runs): the console continues exactly${
      skip ? ` (ignored: ${skip})` : ""
    }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qlive-" });
    const elf = `${dir}/timer.elf`;
    const interval = 100_000; // 10 ms of mtime per tick
    await Deno.writeFile(
      elf,
      patchedGuest("timer", { timer_ticks: TICKS, timer_interval: interval }),
    );
    const ctx = captureContext(testSession());
    const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
    const src = await startQemu(["-kernel", elf, "-S"], { icount: "shift=0,sleep=on" });
    try {
      const incoming = run("incoming", "tcp:127.0.0.1:0", "--timeout", "120");
      await until(() => /listening on tcp:127\.0\.0\.1:\d+/.test(ctx.outText()), 200_000);
      const port = Number(/listening on tcp:127\.0\.0\.1:(\d+)/.exec(ctx.outText())![1]);
      // Slow enough for several passes while the guest ticks on.
      await src.qmp.execute("migrate-set-parameters", { "max-bandwidth": 2 << 20 });
      await src.qmp.execute("cont");
      await src.serial.waitFor("tick 5\n");
      await src.qmp.execute("migrate", { uri: `tcp:127.0.0.1:${port}` });
      await src.migrated();
      const info = (await src.qmp.execute("query-migrate")) as { ram: Record<string, number> };
      ok(info.ram["dirty-sync-count"] >= 2, `dirty syncs: ${info.ram["dirty-sync-count"]}`);
      strictEqual(await incoming, 0, ctx.errText());
      await src.stop(); // postmigrate: everything the source printed has arrived
      const before = src.serial.text;
      ok(!before.includes("timer: done"), "QEMU migrated before the guest finished");
      const m = ctx.session.machine;
      strictEqual(m.profile, "qemu-virt");
      strictEqual(m.qemuDevices!.globalState.runState, "running", "QEMU's guest was running");
      strictEqual(await run("run", "20000000000"), 0, ctx.errText());
      strictEqual(m.exitCode, 0);
      const whole = before + m.consoleText;
      ok(whole === timerOutput(interval), firstDifference(whole, timerOutput(interval)));
    } finally {
      await src.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
