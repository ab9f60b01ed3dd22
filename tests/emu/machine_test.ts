import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { cpuToRecord } from "../../emu/cpu/vmstate.ts";
import { Machine } from "../../emu/machine.ts";
import { MigrationError } from "../../migration/errors.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";

const fixture = (name: string) =>
  Deno.readFileSync(new URL(`../fixtures/isa/${name}.elf`, import.meta.url));

function booted(name: string): Machine {
  const m = new Machine({ ramSize: 4 << 20 });
  m.boot(fixture(name));
  return m;
}

async function snapshot(m: Machine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

/** Everything that affects the future: the migrated CPU record (canonical form) and RAM. */
function fingerprint(m: Machine) {
  return { cpu: cpuToRecord(m.cpu.state, m.ram.base), ram: m.ram.u8.slice() };
}

Deno.test("Machine.run() runs an HTIF test to its pass verdict", () => {
  const m = booted("alu");
  const r = m.run(5_000_000);
  strictEqual(r.stop, "exit");
  strictEqual(r.exitCode, 0);
});

Deno.test("a snapshot taken mid-run resumes to the identical final state", async () => {
  for (const name of ["muldiv", "trap", "amo"]) {
    const total = booted(name).run(5_000_000).insns;
    const src = booted(name);
    src.run(Math.floor(total / 2));
    const snap = await snapshot(src);
    src.run(5_000_000);
    const dst = new Machine({ ramSize: 4 << 20 });
    dst.boot(fixture(name)); // loads symbols (tohost); the snapshot replaces RAM and CPU state
    dst.ram.u8.fill(0xaa);
    dst.ram.markAllDirty(); // written behind the store paths: declare it, as every writer must
    await dst.load(StreamReader.fromBytes(snap));
    dst.run(5_000_000);
    strictEqual(dst.exitCode, src.exitCode, name);
    deepStrictEqual(fingerprint(dst), fingerprint(src), name);
  }
});

Deno.test("Machine.load() of a damaged snapshot changes nothing", async () => {
  const src = booted("muldiv");
  src.run(500);
  const snap = await snapshot(src);
  const dst = booted("alu");
  dst.run(300);
  const before = fingerprint(dst);
  for (const cut of [9, 40, snap.length >> 1, snap.length - 30]) {
    const bad = snap.slice(0, cut);
    let err: unknown;
    try {
      await dst.load(StreamReader.fromBytes(bad));
    } catch (e) {
      err = e;
    }
    ok(err instanceof MigrationError, `cut at ${cut}: ${err}`);
    deepStrictEqual(fingerprint(dst), before, `cut at ${cut}`);
  }
});

Deno.test("Machine.save() writes QEMU's cpu and cpu_common sections and the ram section", async () => {
  const m = booted("alu");
  m.run(100);
  const snap = await snapshot(m);
  const text = new TextDecoder().decode(
    snap.subarray(snap.length - 20000 > 0 ? snap.length - 20000 : 0),
  );
  ok(text.includes('"vmsd_name": "cpu", "version": 5'));
  ok(text.includes('{"name": "cpu_common", "instance_id": 0'));
});
