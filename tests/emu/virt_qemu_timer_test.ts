/**
 * mtimecmp after a load, QEMU 7.2 against snapshell: QEMU saves `timecmp` but does not re-arm
 * the mtimer from it (riscv_aclint_mtimer has no post_load), so a guest waiting in WFI for a
 * timer it set before the stop never wakes when QEMU resumes it; snapshell re-arms the deadline
 * from `timecmp` and the guest ticks on to its end. Both resume the same stream, stopped by the
 * gdbstub at the timer guest's WFI after its second tick.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { parseElf } from "../../emu/elf.ts";
import { VirtMachine } from "../../emu/virt.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { freePort, patchedGuest, startQemu } from "./_qemu_virt.ts";
import { GdbRemote } from "./_gdb.ts";
import { pausedNotDebug } from "./_qemu_stream_edit.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc
const WFI = 0x10500073;

/** The first WFI instruction of `main` (the timer guest's wait loop). */
function mainWfi(elf: Uint8Array): number {
  const e = parseElf(elf);
  const main = e.symbols.get("main")!;
  const seg = e.segments.find((s) => main >= s.paddr && main < s.paddr + s.fileSize)!;
  const view = new DataView(elf.buffer, elf.byteOffset);
  for (let pc = main; pc < seg.paddr + seg.fileSize; pc += 4) {
    if (view.getUint32(seg.offset + pc - seg.paddr, true) === WFI) return pc;
  }
  throw new Error("no wfi in main");
}

Deno.test({
  name:
    `mtimecmp after a load: QEMU 7.2's own resume of the timer guest stops ticking, snapshell's ticks on${
      skip ? ` (ignored: ${skip})` : ""
    }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qtimer-" });
    const bytes = patchedGuest("timer", { timer_ticks: 10, timer_interval: 100_000 });
    const elf = `${dir}/timer.elf`;
    await Deno.writeFile(elf, bytes);
    const stream = `${dir}/timer.qemu`;
    const gdbPort = freePort();
    const src = await startQemu(["-kernel", elf, "-S", "-gdb", `tcp:127.0.0.1:${gdbPort}`]);
    let gdb: GdbRemote | undefined;
    try {
      gdb = await GdbRemote.connect(gdbPort);
      const wfi = mainWfi(bytes);
      for (let hit = 1; hit <= 3; hit++) {
        if (hit > 1) await gdb.request("s");
        await gdb.runTo(wfi); // the 3rd time: after tick 2, the timer armed for tick 3
      }
      await src.saveTo(stream);
      strictEqual(src.serial.text, "timer: 10 ticks, interval 100000\ntick 1\ntick 2\n");
    } finally {
      gdb?.close();
      await src.stop();
    }
    await Deno.writeFile(stream, pausedNotDebug(await Deno.readFile(stream)));
    try {
      // QEMU: the guest runs, executes its WFI, and no timer is left to wake it.
      const q = await startQemu(["-incoming", "defer"], { stderr: true });
      try {
        await q.qmp.execute("migrate-incoming", { uri: `exec:cat ${stream}` });
        await q.migrated();
        await q.qmp.execute("cont");
        await q.stderr!.waitFor("icount sleep disabled and no active timers");
        const st = (await q.qmp.execute("query-status")) as { status: string };
        strictEqual(st.status, "running", "the guest runs, idle in WFI for good");
        strictEqual(q.serial.text, "", "QEMU's resume never ticks");
      } finally {
        await q.stop();
      }
      // snapshell: the same stream ticks on from tick 3.
      const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
      await m.load(StreamReader.fromBytes(await Deno.readFile(stream)));
      ok(m.aclint.mtimer.timecmp[0] !== 0xffffffffffffffffn, "the stream has a timer armed");
      const r = m.run(1_000_000_000);
      strictEqual(r.exitCode, 0);
      let expected = "";
      for (let i = 3; i <= 10; i++) expected += `tick ${i}\n`;
      strictEqual(m.consoleText, expected + "timer: done\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
