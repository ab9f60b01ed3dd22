import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  icountShiftOf,
  loadWhole,
  stateDifference,
  wholeStreamOracle,
} from "../../../../harness/fuzz/qemu/whole_stream.ts";
import { QemuPool } from "../../../../harness/fuzz/qemu/pool.ts";
import { corruptBytes } from "../../../../migration/corrupt/mod.ts";
import { qemuVirtOptionsFor } from "../../../../emu/virt.ts";
import { skip, snapshellQemus, tickerSeed } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";
const fixture = await Deno.readFile(
  new URL("../../../fixtures/qemu72/virt-running.qemu", import.meta.url),
);

Deno.test("the icount shift comes from QEMU's -icount argument", () => {
  strictEqual(icountShiftOf(["qemu", "-icount", "shift=5,sleep=off"]), 5);
  strictEqual(icountShiftOf(["qemu", "-icount", "sleep=off,shift=3"]), 3);
  strictEqual(icountShiftOf(["qemu", "-icount", "shift=auto"]), 0);
  strictEqual(icountShiftOf(["qemu", "-M", "virt"]), 0);
});

Deno.test("two machines loaded from the same stream have no state difference; a field does", async () => {
  const opts = (await qemuVirtOptionsFor(fixture))!;
  const a = await loadWhole(fixture, opts);
  const b = await loadWhole(fixture, opts);
  ok("machine" in a && "machine" in b);
  strictEqual(await stateDifference(a.machine, b.machine), undefined);
  const changed = await corruptBytes(fixture, [
    { op: "set-field", path: "serial.scr", value: "0x5a" },
  ]);
  const c = await loadWhole(changed, opts);
  ok("machine" in c, "refused" in c ? c.refused : "");
  const diff = await stateDifference(a.machine, c.machine);
  ok(/^serial#0 differs at byte \d+/.test(diff ?? ""), String(diff));
  // An offset where the unmodified stream already differs is not a difference of the case.
  const at = Number(/byte (\d+)/.exec(diff!)![1]);
  strictEqual(
    await stateDifference(a.machine, c.machine, new Map([["serial#0", new Set([at])]])),
    undefined,
  );
  const bad = await corruptBytes(fixture, [{
    op: "set-field",
    path: "globalstate.size",
    value: "0x0",
  }]);
  const refused = await loadWhole(bad, opts);
  ok("refused" in refused && /globalstate/.test(refused.refused), JSON.stringify(refused));
});

Deno.test({
  name: `whole streams through both loaders: agreement, each kind of disagreement${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const oracle = (await wholeStreamOracle(bytes, argv))!;
    ok(oracle?.resave, "a riscv32 virt seed gets the whole-stream oracle");
    const pool = await QemuPool.create({ argv, warm: 1, resave: true });
    try {
      const base = await pool.run(bytes);
      strictEqual(base.class, "accepted", JSON.stringify({ ...base, resaved: undefined }));
      ok(base.resaved && base.resaved.length > 1000, "QEMU's loaded state migrated back out");
      await oracle.calibrate!(base);
      strictEqual(await oracle(bytes, base), undefined, "the seed: both load it, same state");

      // QEMU ignores globalstate.size; snapshell checks it: QEMU loads, snapshell refuses.
      const size0 = await corruptBytes(bytes, [
        { op: "set-field", path: "globalstate.size", value: "0x0" },
      ]);
      const d1 = await oracle(size0, await pool.run(size0));
      strictEqual(d1?.class, "disagree");
      strictEqual(d1?.phase, "qemu-loads");
      ok(/globalstate/.test(d1!.ours!), String(d1!.ours));

      // A plain register both loaders keep as sent: the same state on both sides.
      const scr = await corruptBytes(bytes, [{
        op: "set-field",
        path: "serial.scr",
        value: "0x5a",
      }]);
      strictEqual(await oracle(scr, await pool.run(scr)), undefined, "serial.scr: same state");

      // A stream both refuse agrees; a hand-made verdict where QEMU refuses and we load does not.
      const cut = bytes.subarray(0, 4096);
      strictEqual(await oracle(cut, await pool.run(cut)), undefined);
      const d2 = await oracle(bytes, { class: "rejected", detail: "made up" });
      strictEqual(d2?.phase, "qemu-rejects");
    } finally {
      await pool.close();
    }
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});
