import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { forkMachine } from "../../../harness/replay/fork.ts";
import { loadFresh, renderReplay, replay } from "../../../harness/replay/replay.ts";
import { compareMachines } from "../../../harness/replay/state_diff.ts";
import { booted, neverSent, snapshotOf, UART_ECHO, withoutField } from "./_builds.ts";

Deno.test("a snapshot replayed against its own source is identical, and the source does not move", async () => {
  const src = await booted(300_000);
  const snap = await snapshotOf(src);
  const before = src.cpu.instret;
  const r = await replay(snap, { kind: "machine", machine: src }, { insns: 1_000_000 });
  strictEqual(r.identical, true, renderReplay(r, "source").join("\n"));
  strictEqual(r.divergence, undefined);
  strictEqual(src.cpu.instret, before);
  ok(r.comparisons >= 2);
  ok(renderReplay(r, "source")[0].startsWith("replay: identical"));
});

Deno.test("a field missing from a description is named: device, field, instruction 0", async () => {
  const make = withoutField("ier");
  const src = await booted(300_000, make);
  ok(src.uart.state.serial.ier !== 0, "the demo enables UART interrupts");
  const snap = await snapshotOf(src);
  const r = await replay(snap, { kind: "machine", machine: src }, {
    insns: 100_000,
    makeMachine: make,
  });
  strictEqual(r.identical, false);
  const d = r.divergence!;
  strictEqual(d.insns, 0);
  strictEqual(d.first.device, "serial");
  strictEqual(d.first.path, "serial.ier");
  strictEqual(d.first.notInDescription, true);
  const text = renderReplay(r, "source").join("\n");
  ok(/device serial, field serial\.ier/.test(text) && /not in its description/.test(text), text);
});

Deno.test("a subsection wrongly not sent diverges later; bisection finds the first instruction", async () => {
  const make = neverSent("serial/snapshell-input");
  const src = await booted(200_000, make, UART_ECHO);
  src.sendInput("hello");
  src.run(3);
  ok(src.uart.state.serial.inputCount > 0, "bytes still queued at the snapshot");
  const snap = await snapshotOf(src);
  const r = await replay(snap, { kind: "machine", machine: src }, {
    insns: 200_000,
    makeMachine: make,
  });
  const d = r.divergence!;
  ok(d && d.insns > 0, renderReplay(r, "source").join("\n"));
  // Exactly the first point: equal one instruction before, different at it.
  const check = async (n: number) => {
    const ref = forkMachine(src, make);
    const rep = await loadFresh(snap, make);
    ref.run(n);
    rep.run(n);
    return compareMachines(ref, rep).equal;
  };
  strictEqual(await check(d.insns - 1), true);
  strictEqual(await check(d.insns), false);
  ok(r.console.firstDifference !== undefined);
  strictEqual(r.console.reference, "HELLO");
  ok(renderReplay(r, "source").some((l) => l.startsWith("console differs")));
});

Deno.test("two snapshots: same point is identical; different points diverge at instruction 0", async () => {
  const a = await snapshotOf(await booted(300_000));
  const b = await snapshotOf(await booted(300_000));
  deepStrictEqual(a, b);
  strictEqual(
    (await replay(a, { kind: "snapshot", bytes: b }, { insns: 200_000 })).identical,
    true,
  );
  const c = await snapshotOf(await booted(310_000));
  const r = await replay(a, { kind: "snapshot", bytes: c }, { insns: 50_000, checkpoints: 4 });
  strictEqual(r.divergence?.insns, 0);
  ok(r.divergence!.differences.length >= 1);
});

Deno.test("a replay reports progress and, cancelled, says how far it compared", async () => {
  const src = await booted(300_000);
  const snap = await snapshotOf(src);
  const seen: number[] = [];
  const ac = new AbortController();
  const r = await replay(snap, { kind: "snapshot", bytes: snap }, {
    insns: 10_000_000,
    checkpoints: 4,
    sliceInsns: 100_000,
    signal: ac.signal,
    onProgress: (done) => {
      seen.push(done);
      if (done >= 2_500_000) ac.abort();
    },
  });
  strictEqual(r.cancelled, true);
  strictEqual(r.insns, 2_500_000, "the checkpoints compared before the cancel");
  strictEqual(r.identical, true);
  ok(seen.length > 3 && seen.every((v, i) => i === 0 || v > seen[i - 1]), `${seen}`);
  ok(renderReplay(r, "itself")[0].includes("cancelled there"), renderReplay(r, "itself")[0]);
});
