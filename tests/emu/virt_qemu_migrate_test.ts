/**
 * snapshell -> QEMU 7.2 through the shell's `migrate` on each transport: a `qemu-virt` machine
 * runs the compute guest to its first progress line, then `migrate file:`, `exec:` (QEMU itself
 * is the command, `-incoming fd:0`) or `tcp:` (QEMU `-incoming` over QMP; several precopy rounds
 * while the guest runs). The stream says the guest was running, so QEMU runs it at once; what
 * QEMU prints is exactly what snapshell prints when it runs its own copy on from the switch-over.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { QEMU_RV32, qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext, testSession } from "../repl/_io.ts";
import { computeGuest, firstDifference, freePort, RTC, startQemu } from "./_qemu_virt.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc

type Ctx = ReturnType<typeof captureContext>;

/** A shell whose qemu-virt machine ran the compute guest to its first progress line. */
async function shellAtFirstLine(elf: string): Promise<Ctx> {
  const ctx = captureContext(testSession());
  const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
  strictEqual(await run("boot", elf, "--machine", "qemu-virt", "--ram", "16M"), 0, ctx.errText());
  strictEqual(await run("run", "until", "compute: 1024/"), 0, ctx.errText());
  return ctx;
}

/**
 * `migrate URI` from the shell, then snapshell's own copy run on from the switch-over (the
 * postmigrate machine, `run --force`): returns that continuation and the migration's status.
 */
async function migrateAndContinue(
  ctx: Ctx,
  argv: string[],
): Promise<{ ours: string; status: { state: string; rounds: unknown[] } }> {
  const run = (...a: string[]) => runCommandLine(allCommands(), ctx, a);
  ctx.clear();
  strictEqual(await run("migrate", ...argv, "--json"), 0, ctx.errText());
  const status = JSON.parse(ctx.outText().split("\n").at(-1)!);
  strictEqual(status.state, "completed");
  const m = ctx.session.machine;
  const printed = m.consoleText.length;
  strictEqual(await run("run", "--force", "10000000000"), 0, ctx.errText());
  strictEqual(m.exitCode, 0);
  return { ours: m.consoleText.slice(printed), status };
}

Deno.test({
  name:
    `snapshell -> QEMU 7.2 by migrate file:, exec: and tcp: (live, several rounds): QEMU prints what snapshell's own copy prints${
      skip ? ` (ignored: ${skip})` : ""
    }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qmig-" });
    const elf = `${dir}/compute.elf`;
    await Deno.writeFile(elf, computeGuest(3072));
    try {
      // file: QEMU resumes the file (-incoming defer, then migrate-incoming).
      {
        const ctx = await shellAtFirstLine(elf);
        const { ours } = await migrateAndContinue(ctx, [`file:${dir}/s.qemu`]);
        const q = await startQemu(["-incoming", "defer"]);
        try {
          await q.qmp.execute("migrate-incoming", { uri: `exec:cat ${dir}/s.qemu` });
          await q.migrated();
          strictEqual((await q.exited()).code, 0, "the stream says running: QEMU runs it");
        } finally {
          await q.stop();
        }
        ok(ours.includes("compute: result"), ours);
        ok(q.serial.text === ours, `file: ${firstDifference(q.serial.text, ours)}`);
      }
      // exec: QEMU is the command, reading the stream on its stdin.
      {
        const ctx = await shellAtFirstLine(elf);
        const serial = `${dir}/exec-serial.txt`;
        const qemu = [
          QEMU_RV32,
          ...["-M", "virt", "-bios", "none", "-m", "16M", "-display", "none", "-monitor", "none"],
          ...["-rtc", RTC, "-icount", "shift=0,sleep=off", "-serial", `file:${serial}`],
          ...["-incoming", "fd:0"],
        ].join(" ");
        // The command's end (QEMU powered off by the guest) completes the migration.
        const { ours } = await migrateAndContinue(ctx, [`exec:${qemu}`]);
        const theirs = await Deno.readTextFile(serial);
        ok(theirs === ours, `exec: ${firstDifference(theirs, ours)}`);
      }
      // tcp: live precopy into QEMU's -incoming, rounds forced while the guest runs.
      {
        const ctx = await shellAtFirstLine(elf);
        const q = await startQemu(["-incoming", "defer"]);
        try {
          const port = freePort();
          await q.qmp.execute("migrate-incoming", { uri: `tcp:127.0.0.1:${port}` });
          const { ours, status } = await migrateAndContinue(ctx, [
            `tcp:127.0.0.1:${port}`,
            ...["--downtime-limit", "0", "--max-rounds", "3", "--force"],
          ]);
          ok(status.rounds.length >= 3, `precopy rounds: ${status.rounds.length}`);
          await q.migrated();
          strictEqual((await q.exited()).code, 0);
          ok(q.serial.text === ours, `tcp: ${firstDifference(q.serial.text, ours)}`);
        } finally {
          await q.stop();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
