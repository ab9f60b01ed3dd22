import { strictEqual } from "node:assert/strict";
import { probeStreamClock } from "../../../harness/store/clock_probe.ts";
import { SnapshotStore } from "../../../harness/store/store.ts";
import { demoMachine } from "../_machines.ts";

Deno.test("probeStreamClock reads minstret and mcycle from a snapshell stream", async () => {
  const store = new SnapshotStore(await Deno.makeTempDir({ prefix: "clock-" }));
  const m = demoMachine(200_000);
  const meta = await store.save("a", m);
  const clock = await probeStreamClock(store.streamPath(meta));
  strictEqual(clock?.insns, m.cpu.instret);
  strictEqual(clock?.virtualNs, m.nowNs());
});

Deno.test("probeStreamClock is null for a QEMU stream and for a stream cut before the cpu", async () => {
  const qemu = new URL("../../fixtures/qemu72/virt-icount.qemu", import.meta.url).pathname;
  strictEqual(await probeStreamClock(qemu), null);
  const dir = await Deno.makeTempDir({ prefix: "clock-" });
  const store = new SnapshotStore(dir);
  const meta = await store.save("a", demoMachine(1000));
  const cut = (await Deno.readFile(store.streamPath(meta))).subarray(0, 5000);
  await Deno.writeFile(`${dir}/cut`, cut);
  strictEqual(await probeStreamClock(`${dir}/cut`), null);
});
