import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VirtMachine, type VirtOptions } from "../../../emu/virt.ts";
import { CaseMaker } from "../../../harness/fuzz/cases.ts";
import { FuzzTarget } from "../../../harness/fuzz/target.ts";
import { corruptBytes } from "../../../migration/corrupt/mod.ts";
import type { VmStateDescription } from "../../../migration/vmstate/description.ts";
import { vmsd } from "../../../migration/vmstate/fields.ts";
import { demoBase } from "./_base.ts";

const base = await demoBase();

for (const exact of [false, true]) {
  const mode = exact ? "exact" : "fast";
  Deno.test(`${mode}: the original loads equal, a typed rejection and a new value are told apart`, async () => {
    const t = await FuzzTarget.create(base, { exact });
    strictEqual((await t.run(base)).class, "equal");
    const rejected = await t.run(
      await corruptBytes(base, [{ op: "set-version", section: "serial", version: 9 }]),
    );
    strictEqual(rejected.class, "rejected");
    strictEqual(rejected.error, "VersionMismatchError");
    // The detail is the error's one-line message in both modes (lightweight errors in fast).
    ok(
      /version_id 9 is too new .*section "serial"/.test(rejected.detail ?? ""),
      String(rejected.detail),
    );
    strictEqual(JSON.parse(JSON.stringify(rejected)).detail, rejected.detail);
    const changed = await t.run(
      await corruptBytes(base, [{ op: "set-field", path: "serial.scr", value: "0x5a" }]),
    );
    strictEqual(changed.class, "different");
    // A vmdesc change loads the same machine.
    strictEqual(
      (await t.run(await corruptBytes(base, [{ op: "damage-vmdesc", how: "json" }]))).class,
      "equal",
    );
  });
}

Deno.test("fast and exact modes classify the same cases the same way", async () => {
  const maker = await CaseMaker.create(base);
  const fast = await FuzzTarget.create(base);
  const exact = await FuzzTarget.create(base, { exact: true });
  for (let i = 0; i < 120; i++) {
    const c = await maker.make(21, i);
    const a = await fast.run(c.input, c.ramPreloaded ? maker.preload : undefined);
    const b = await exact.run(await maker.build(c.ops));
    deepStrictEqual([a.class, a.error], [b.class, b.error], `case ${i}: ${JSON.stringify(c.ops)}`);
  }
});

/** A build whose NVMe commit adds a status bit its own checks reject (a loader bug). */
const mangledCommit = (o: VirtOptions) => {
  const m = new VirtMachine(o);
  const commit = m.nvme.commit.bind(m.nvme);
  m.nvme.commit = (s) => {
    commit(s);
    m.nvme.state.csts |= 0x80;
  };
  return m;
};

Deno.test("a state that fails its own checks when saved and loaded again is invalid", async () => {
  const t = await FuzzTarget.create(base, { makeMachine: mangledCommit });
  const o = await t.run(
    await corruptBytes(base, [{ op: "set-field", path: "nvme.sq[1].head", value: "1" }]),
  );
  strictEqual(o.class, "invalid");
  strictEqual(o.phase, "check");
  ok(/snapshell-nvme/.test(o.detail!) && /CSTS/.test(o.detail!), String(o.detail));
});

Deno.test("an exception while running, and a run over its time budget, are bugs", async () => {
  const throwing = (o: VirtOptions) => {
    const m = new VirtMachine(o);
    m.rtc.tick = () => {
      throw new TypeError("boom");
    };
    return m;
  };
  const t = await FuzzTarget.create(base, { makeMachine: throwing, runInsns: 50_000_000 });
  const o = await t.run(base);
  deepStrictEqual([o.class, o.phase, o.error], ["exception", "run", "TypeError"]);
  const slow = await FuzzTarget.create(base, { runBudgetMs: -1 });
  strictEqual((await slow.run(base)).class, "hang");
});

Deno.test("a rejected load that changed the machine anyway is caught", async () => {
  // A build whose serial post-load hook writes to the live device: the later failure cannot undo it.
  const leaky = (o: VirtOptions) => {
    const m = new VirtMachine(o);
    const e = m.registry.find("serial", 0) as { vmsd: VmStateDescription };
    const inner = e.vmsd;
    e.vmsd = vmsd({
      ...inner,
      postLoad: (s, v) => {
        m.uart.state.serial.scr = 0x77;
        return inner.postLoad?.(s, v);
      },
    });
    return m;
  };
  for (const exact of [false, true]) {
    const t = await FuzzTarget.create(base, { makeMachine: leaky, exact });
    let seen = false;
    for (let i = 0; i < 8 && !seen; i++) {
      // The fast mode checks records on every 8th rejection; RAM on every one.
      const o = await t.run(
        await corruptBytes(base, [{ op: "break-footer", section: "nvme", how: "id" }]),
      );
      if (o.class === "invalid") {
        strictEqual(o.phase, "rollback");
        ok(/serial/.test(o.detail!) && /scr/.test(o.detail!), String(o.detail));
        seen = true;
      } else strictEqual(o.class, "rejected");
    }
    ok(seen, exact ? "exact" : "fast");
  }
});
