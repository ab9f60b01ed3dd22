/**
 * QEMU 7.2 -> snapshell at several stop points, through the shell's `incoming file:`: QEMU runs
 * the compute guest and is migrated to a file before its first instruction (pc in the mrom at
 * 0x1000, QEMU's reset stub) and after each progress line; QEMU resumes each file itself, and
 * snapshell resumes it: the console from there on is byte-identical, and both exit 0.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext, testSession } from "../repl/_io.ts";
import { parseElf } from "../../emu/elf.ts";
import { computeGuest, firstDifference, freePort, startQemu } from "./_qemu_virt.ts";
import { GdbRemote } from "./_gdb.ts";
import { pausedNotDebug } from "./_qemu_stream_edit.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc

/** What QEMU prints when it resumes `stream` itself (`-incoming defer`, then migrate-incoming). */
async function qemuResumes(stream: string): Promise<string> {
  const q = await startQemu(["-incoming", "defer"]);
  try {
    await q.qmp.execute("migrate-incoming", { uri: `exec:cat ${stream}` });
    await q.migrated();
    const st = (await q.qmp.execute("query-status")) as { running: boolean };
    if (!st.running) await q.qmp.execute("cont"); // paused or prelaunch, as the source was
    const status = await q.exited();
    strictEqual(status.code, 0, "the guest powers QEMU off with status 0");
    return q.serial.text;
  } finally {
    await q.stop();
  }
}

/** What snapshell prints when the shell's `incoming file:` resumes `stream` and runs it. */
async function snapshellResumes(stream: string, pc?: number): Promise<string> {
  const ctx = captureContext(testSession());
  const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
  strictEqual(await run("incoming", `file:${stream}`), 0, ctx.errText());
  const m = ctx.session.machine;
  strictEqual(m.profile, "qemu-virt", "QEMU's block list picks the profile");
  if (pc !== undefined) strictEqual(m.cpu.state.pc, pc);
  strictEqual(await run("run", "10000000000"), 0, ctx.errText());
  strictEqual(m.exitCode, 0, "the guest exits through sifive_test with status 0");
  return m.consoleText;
}

Deno.test({
  name:
    `QEMU 7.2 -> snapshell at four stop points (the first before any instruction): the shell's incoming file: continues exactly as QEMU${
      skip ? ` (ignored: ${skip})` : ""
    }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qstops-" });
    const elf = `${dir}/compute.elf`;
    await Deno.writeFile(elf, computeGuest(3072));
    const gdbPort = freePort();
    const src = await startQemu(["-kernel", elf, "-S", "-gdb", `tcp:127.0.0.1:${gdbPort}`]);
    const streams: string[] = [];
    let gdb: GdbRemote | undefined;
    try {
      const save = async () => {
        const file = `${dir}/stop${streams.length}.qemu`;
        await src.saveTo(file);
        await Deno.writeFile(file, pausedNotDebug(await Deno.readFile(file)));
        streams.push(file);
      };
      await save(); // prelaunch: QEMU's reset stub at 0x1000 has not run
      // Exact points: the guest's 1st, 2nd and 3rd kprintf call (its banner and two progress
      // lines), each stopped by the gdbstub before the call's first instruction.
      gdb = await GdbRemote.connect(gdbPort);
      const kprintf = parseElf(await Deno.readFile(elf)).symbols.get("kprintf")!;
      for (let hit = 1; hit <= 3; hit++) {
        if (hit > 1) await gdb.request("s"); // step off the breakpoint the last stop sits on
        await gdb.runTo(kprintf);
        await save();
      }
    } finally {
      gdb?.close();
      await src.stop();
    }
    try {
      for (const [i, stream] of streams.entries()) {
        const qemu = await qemuResumes(stream);
        ok(qemu.includes("compute: result"), `stop ${i}: ${qemu}`);
        if (i > 0) ok(qemu.startsWith("compute: "), `stop ${i} is before a whole line`);
        const ours = await snapshellResumes(stream, i === 0 ? 0x1000 : undefined);
        ok(ours === qemu, `stop ${i}: ${firstDifference(ours, qemu)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
