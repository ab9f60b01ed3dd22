/**
 * QEMU 7.2 → snapshell with a real QEMU: QEMU runs our `compute` guest, is stopped mid-run over QMP
 * and migrates to a file; a second QEMU resumes that file, and a `qemu-virt` machine resumes the
 * same file. Both continuations must print the same bytes and exit the same way.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { QEMU_RV32, qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { parseElf } from "../../emu/elf.ts";
import { VirtMachine } from "../../emu/virt.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { freePort, Qmp } from "../../bench/qmp.ts";
import { migrateToFile } from "./_qemu_virt.ts";

const skip = await qemuMissingReason(); // apt-get install qemu-system-misc
const RTC = "base=2024-01-01T00:00:00,clock=vm";
/** Bound on every wait (the machine is shared with other jobs). */
const WAIT_MS = 60_000;

/** The compute guest with `compute_iterations` patched (its patchable configuration symbol). */
function computeGuest(iterations: number): Uint8Array {
  const bytes = Deno.readFileSync(new URL("../../emu/guests/build/compute.elf", import.meta.url));
  const elf = parseElf(bytes);
  const at = elf.symbols.get("compute_iterations")!;
  const seg = elf.segments.find((s) => at >= s.paddr && at + 4 <= s.paddr + s.fileSize)!;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(seg.offset + at - seg.paddr, iterations, true);
  return out;
}

/** Runs QEMU with a QMP port; returns the monitor and the process. */
async function qemu(args: string[]): Promise<{ qmp: Qmp; child: Deno.ChildProcess }> {
  const port = freePort();
  const child = new Deno.Command(QEMU_RV32, {
    args: [
      ...["-M", "virt", "-bios", "none", "-m", "16M", "-display", "none", "-monitor", "none"],
      ...["-rtc", RTC, "-qmp", `tcp:127.0.0.1:${port},server=on,wait=off`, ...args],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit", // QEMU's own complaints explain a failure
  }).spawn();
  return { qmp: await Qmp.connect(port), child };
}

async function waitFor(what: string, done: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + WAIT_MS;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: `QEMU 7.2 -> snapshell: a stream QEMU saved mid-run resumes here with QEMU's own output${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qvirt-" });
    try {
      const elf = `${dir}/compute.elf`;
      await Deno.writeFile(elf, computeGuest(3072));
      // Stopped wherever QMP's stop lands after the first progress line: both sides resume the
      // same stream, so the point does not need to be reproducible.
      const src = await qemu([
        ...["-kernel", elf, "-icount", "shift=0,sleep=off", "-S"],
        ...["-serial", `file:${dir}/before.txt`],
      ]);
      await src.qmp.execute("cont");
      await waitFor("the guest's first progress line", async () => {
        const t = await Deno.readTextFile(`${dir}/before.txt`).catch(() => "");
        return t.includes("compute: 1024/");
      });
      await src.qmp.execute("stop");
      await migrateToFile((cmd, args) => src.qmp.execute(cmd, args), `${dir}/stream.qemu`);
      await waitFor("the migration", async () => {
        const s = (await src.qmp.execute("query-migrate")) as { status?: string };
        if (s.status === "failed") throw new Error("QEMU's migration failed");
        return s.status === "completed";
      });
      await src.qmp.execute("quit").catch(() => {});
      src.qmp.close();
      await src.child.output();
      const before = await Deno.readTextFile(`${dir}/before.txt`);
      ok(!before.includes("compute: result"), "QEMU was stopped before the guest finished");

      // QEMU resumes its own stream.
      const dst = await qemu([
        // The same -icount as the source (QEMU 7.2 creates the warp timer only with sleep=on;
        // a stream carrying `timer/icount/warp_timer` into a sleep=off QEMU trips an assertion).
        ...["-icount", "shift=0,sleep=off", "-serial", `file:${dir}/after.txt`],
        ...["-incoming", `exec:cat ${dir}/stream.qemu`],
      ]);
      await waitFor("the incoming migration", async () => {
        const s = (await dst.qmp.execute("query-status")) as { status: string };
        return s.status === "paused";
      });
      await dst.qmp.execute("cont");
      // The guest powers QEMU off through sifive_test when it is done.
      const status = await Promise.race([
        dst.child.status,
        new Promise<never>((_, no) =>
          setTimeout(() => no(new Error("QEMU did not finish")), WAIT_MS)
        ),
      ]).catch((e) => {
        dst.child.kill();
        throw e;
      });
      dst.qmp.close();
      strictEqual(status.code, 0);
      const qemuAfter = await Deno.readTextFile(`${dir}/after.txt`);
      ok(qemuAfter.includes("compute: result"), qemuAfter);

      // snapshell resumes the same stream.
      const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
      await m.load(StreamReader.fromBytes(await Deno.readFile(`${dir}/stream.qemu`)));
      const r = m.run(2_000_000_000);
      strictEqual(r.stop, "exit");
      strictEqual(r.exitCode, 0);
      strictEqual(m.consoleText, qemuAfter);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `snapshell -> QEMU 7.2: QEMU resumes a qemu-virt stream and prints what snapshell prints${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qvirt-" });
    try {
      const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
      m.boot(computeGuest(2048));
      while (!m.consoleText.includes("compute: 1024/")) m.run(100_000);
      const w = new StreamWriter();
      await m.save(w);
      await Deno.writeFile(`${dir}/stream.snapshell`, w.take());
      const printed = m.consoleText.length;
      const r = m.run(2_000_000_000);
      strictEqual(r.exitCode, 0);
      const ours = m.consoleText.slice(printed);
      ok(ours.includes("compute: result"), ours);

      const dst = await qemu([
        ...["-icount", "shift=0,sleep=off", "-serial", `file:${dir}/after.txt`],
        ...["-incoming", `exec:cat ${dir}/stream.snapshell`],
      ]);
      await waitFor("the incoming migration", async () => {
        const s = (await dst.qmp.execute("query-status")) as { status: string };
        return s.status === "paused";
      });
      await dst.qmp.execute("cont");
      const status = await Promise.race([
        dst.child.status,
        new Promise<never>((_, no) =>
          setTimeout(() => no(new Error("QEMU did not finish")), WAIT_MS)
        ),
      ]).catch((e) => {
        dst.child.kill();
        throw e;
      });
      dst.qmp.close();
      strictEqual(status.code, 0);
      strictEqual(await Deno.readTextFile(`${dir}/after.txt`), ours);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
