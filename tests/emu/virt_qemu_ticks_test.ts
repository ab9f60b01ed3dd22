/**
 * Interrupt delivery, QEMU 7.2 against snapshell's `qemu-virt`, instruction for instruction: the
 * gdbstub stops QEMU at the entry of each of the timer guest's first ten interrupt handlers and
 * QEMU migrates each point to a file; snapshell runs the same guest from QEMU's own prelaunch
 * stream and must enter each handler at the same virtual time and instruction count. Two QEMU
 * rules make this hold (they were the 1-2 tick lines of 200 off by one): the timer is armed at
 * `now + (mtimecmp - floor(mtime)) × 100 ns` (riscv_aclint_mtimer_write_timecmp), so it fires up
 * to 99 ns after mtime reaches mtimecmp; and an I/O instruction sees the clock with itself counted.
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import { qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { parseElf } from "../../emu/elf.ts";
import { VirtMachine } from "../../emu/virt.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { freePort, patchedGuest, startQemu } from "./_qemu_virt.ts";
import { GdbRemote } from "./_gdb.ts";
import { pausedNotDebug } from "./_qemu_stream_edit.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc
const TICKS = 10;

async function loaded(path: string): Promise<VirtMachine> {
  const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
  await m.load(StreamReader.fromBytes(await Deno.readFile(path)));
  return m;
}

Deno.test({
  name: `the timer interrupt reaches the handler at QEMU 7.2's instruction, tick after tick${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qticks-" });
    try {
      // An interval that is no multiple of 100 ns walks the arming phase through its values.
      const bytes = patchedGuest("timer", { timer_ticks: TICKS + 2, timer_interval: 1234 });
      const elf = `${dir}/timer.elf`;
      await Deno.writeFile(elf, bytes);
      const onTimer = parseElf(bytes).symbols.get("on_timer")!;
      const gdbPort = freePort();
      const src = await startQemu(["-kernel", elf, "-S", "-gdb", `tcp:127.0.0.1:${gdbPort}`]);
      const streams: string[] = [];
      let gdb: GdbRemote | undefined;
      try {
        const save = async () => {
          const file = `${dir}/s${streams.length}.qemu`;
          await src.saveTo(file);
          await Deno.writeFile(file, pausedNotDebug(await Deno.readFile(file)));
          streams.push(file);
        };
        await save(); // before the first instruction
        gdb = await GdbRemote.connect(gdbPort);
        for (let hit = 1; hit <= TICKS; hit++) {
          if (hit > 1) await gdb.request("s");
          await gdb.runTo(onTimer);
          await save();
        }
      } finally {
        gdb?.close();
        await src.stop();
      }
      const qemu: string[] = [];
      for (const s of streams.slice(1)) {
        const m = await loaded(s);
        qemu.push(`${m.nowNs()} ns, ${m.cpu.instret} insns`);
      }
      const m = await loaded(streams[0]);
      const ours: string[] = [];
      while (ours.length < TICKS) {
        m.run(1);
        if (m.cpu.state.pc === onTimer) ours.push(`${m.nowNs()} ns, ${m.cpu.instret} insns`);
      }
      deepStrictEqual(ours, qemu);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
