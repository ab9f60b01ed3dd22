/**
 * The Linux guest across QEMU 7.2 and snapshell, both ways. QEMU boots it (OpenSBI, Linux 6.1,
 * our init; `-cpu` rv32ima as the guest needs) to the init's prompt, is stopped and migrated to
 * a file; the shell's `incoming file:` resumes it and the init answers a typed command. And a
 * `qemu-virt` machine boots it to the prompt, `migrate tcp:` sends it live into QEMU's
 * `-incoming`, and the init answers a command typed on QEMU's console.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { linuxArtifacts, linuxMissingReason } from "../../emu/guests/linux/artifacts.ts";
import { LINUX_APPEND, QEMU_RV32IMA_CPU, qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext, testSession } from "../repl/_io.ts";
import { freePort, startQemu } from "./_qemu_virt.ts";

const PROMPT = "snapshell# ";
const artifacts = linuxArtifacts();
// apt-get install qemu-system-misc; deno task guests:linux
const skip = (await qemuMissingReason()) ?? (artifacts === null ? linuxMissingReason() : null);

type Ctx = ReturnType<typeof captureContext>;
const shell = () => {
  const ctx = captureContext(testSession());
  return { ctx, run: (...argv: string[]) => runCommandLine(allCommands(), ctx, argv) };
};

/** Runs the shell's machine until `text` shows after `from` characters of its console. */
async function runUntil(ctx: Ctx, text: string): Promise<void> {
  const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
  strictEqual(
    await run("run", "until", text, "--max-cycles", "30000000000"),
    0,
    `${ctx.errText()}\n${ctx.session.machine.consoleText.slice(-400)}`,
  );
}

Deno.test({
  name: `Linux: QEMU 7.2 at the init's prompt -> snapshell's incoming file:, and the init answers${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qlinux-" });
    try {
      const a = artifacts!;
      const src = await startQemu(["-S"], {
        machine: ["-cpu", QEMU_RV32IMA_CPU, "-m", "128M", "-bios", a.bios, "-kernel", a.kernel],
      });
      try {
        await src.qmp.execute("cont");
        await src.serial.waitFor(PROMPT);
        await src.qmp.execute("stop");
        await src.saveTo(`${dir}/linux.qemu`);
      } finally {
        await src.stop();
      }
      const { ctx, run } = shell();
      strictEqual(await run("incoming", `file:${dir}/linux.qemu`), 0, ctx.errText());
      const m = ctx.session.machine;
      strictEqual(m.profile, "qemu-virt");
      strictEqual(m.ram.size, 128 << 20);
      strictEqual(await run("send", "echo hello from snapshell"), 0);
      await runUntil(ctx, "hello from snapshell\r\n");
      await runUntil(ctx, PROMPT);
      ok(m.consoleText.endsWith(`hello from snapshell\r\n${PROMPT}`), m.consoleText);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    `Linux: snapshell's qemu-virt at the init's prompt -> QEMU 7.2 by live migrate tcp:, and the init answers${
      skip ? ` (ignored: ${skip})` : ""
    }`,
  ignore: skip !== null,
  async fn() {
    const { ctx, run } = shell();
    strictEqual(
      await run("boot", "linux", "--machine", "qemu-virt", "--ram", "128M"),
      0,
      ctx.errText(),
    );
    await runUntil(ctx, PROMPT);
    ok(ctx.session.machine.consoleText.includes(LINUX_APPEND.split(" ")[0]), "the kernel booted");
    // QEMU's -bios none: RAM (firmware, kernel and all) comes from the stream.
    const q = await startQemu(["-incoming", "defer"], {
      machine: ["-cpu", QEMU_RV32IMA_CPU, "-m", "128M", "-bios", "none"],
    });
    try {
      const port = freePort();
      await q.qmp.execute("migrate-incoming", { uri: `tcp:127.0.0.1:${port}` });
      strictEqual(await run("migrate", `tcp:127.0.0.1:${port}`), 0, ctx.errText());
      await q.migrated();
      const st = (await q.qmp.execute("query-status")) as { status: string };
      strictEqual(st.status, "running", "the guest ran during precopy: QEMU runs it");
      await q.serial.type("echo hello from qemu\r");
      await q.serial.waitFor("hello from qemu\r\n");
      await q.serial.waitFor(PROMPT, q.serial.text.indexOf("hello from qemu\r\n"));
    } finally {
      await q.stop();
    }
  },
});
