/**
 * Snapshot files: an atomic save and a streaming load give back the machine, report their figures
 * and the bytes as they move (progress bars); a failed save leaves no file behind.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { loadMachineFile, saveMachineFile, snapshotRamSize } from "../../emu/snapshot_file.ts";
import { DEFAULT_GUEST, VirtMachine } from "../../emu/virt.ts";
import { TransportError } from "../../migration/errors.ts";

function demo(): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(Deno.readFileSync(DEFAULT_GUEST));
  m.run(200_000);
  return m;
}

Deno.test("saveMachineFile() and loadMachineFile() round-trip and report bytes as they go", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = demo();
    const saved: number[] = [];
    const st = await saveMachineFile(m, `${dir}/a.qemu`, (n) => saved.push(n));
    strictEqual(st.bytes, Deno.statSync(`${dir}/a.qemu`).size);
    strictEqual(saved.at(-1), st.bytes, "the last report is the whole stream");
    ok(saved.every((n, i) => i === 0 || n > saved[i - 1]));
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.qemu"], "no temp file");
    strictEqual(await snapshotRamSize(`${dir}/a.qemu`), 16 << 20);

    const loaded: [number, number | undefined][] = [];
    const d = new VirtMachine({ ramSize: 16 << 20 });
    const { report, stats } = await loadMachineFile(
      d,
      `${dir}/a.qemu`,
      (n, t) => loaded.push([n, t]),
    );
    strictEqual(report.bytes, st.bytes);
    strictEqual(stats.bytes, st.bytes);
    deepStrictEqual(loaded.at(-1), [st.bytes, st.bytes]);
    strictEqual(d.cpu.instret, m.cpu.instret);
    deepStrictEqual(d.ram.u8, m.ram.u8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveMachineFile() into a missing directory is a TransportError and leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejects(saveMachineFile(demo(), `${dir}/no/such/a.qemu`), TransportError);
    deepStrictEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
