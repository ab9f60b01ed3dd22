import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { StoreError } from "../../../harness/store/errors.ts";
import { decodedCopy, diffMachines, machinesEqual } from "../../../harness/store/machine_diff.ts";
import { META_FORMAT, SnapshotStore } from "../../../harness/store/store.ts";
import { MigrationError, SaveError, StreamFormatError } from "../../../migration/errors.ts";
import type { StreamWriter } from "../../../migration/stream/writer.ts";
import { demoMachine, freshMachine } from "../_machines.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { baseOf } from "../../../migration/stream/durable_file.ts";

const newStore = async () => new SnapshotStore(await Deno.makeTempDir({ prefix: "store-" }));
// The writer lock `.lock` is part of every store that was written to.
const files = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== ".lock").sort();
const isStoreError = (reason: string) => (e: unknown) =>
  e instanceof StoreError && e.reason === reason;

Deno.test("save() then load() restores the same machine, and list() describes it", async () => {
  const store = await newStore();
  const m = demoMachine(300_000);
  const meta = await store.save("a", m, { guest: "demo.elf" });
  strictEqual(meta.format, META_FORMAT);
  strictEqual(meta.insns, m.cpu.instret);
  strictEqual(meta.ramSize, 16 << 20);
  strictEqual(meta.machine, "virt");
  strictEqual(meta.bytes, (await Deno.stat(store.streamPath(meta))).size);
  deepStrictEqual(files(store.dir), [meta.file, "a.json"].sort());
  deepStrictEqual((await store.list()).map((x) => x.name), ["a"]);
  const r = await store.load("a", (ram) => freshMachine(ram));
  ok(machinesEqual(diffMachines(await decodedCopy(m, freshMachine()), r.machine)));
  strictEqual(r.report.bytes, meta.bytes);
});

Deno.test("save() refuses to overwrite without force; with force it replaces the old stream", async () => {
  const store = await newStore();
  const first = await store.save("a", demoMachine(1000));
  await rejects(store.save("a", demoMachine(2000)), isStoreError("exists"));
  strictEqual((await store.get("a")).sha256, first.sha256);
  const second = await store.save("a", demoMachine(500_000), { force: true });
  ok(second.sha256 !== first.sha256);
  deepStrictEqual(files(store.dir), [second.file, "a.json"].sort());
});

Deno.test("a save that fails half-way leaves the existing snapshot and no stray file", async () => {
  const store = await newStore();
  const good = await store.save("a", demoMachine(1000));
  const broken = demoMachine(2000);
  broken.save = async (w: StreamWriter) => {
    w.bytes(new Uint8Array(10_000));
    await w.flush();
    throw new SaveError("pre_save of a device failed");
  };
  await rejects(store.save("a", broken, { force: true }), SaveError);
  await rejects(store.save("b", broken), SaveError);
  deepStrictEqual(files(store.dir), [good.file, "a.json"].sort());
  deepStrictEqual(await store.verify("a"), {
    ok: true,
    expected: good.sha256,
    actual: good.sha256,
  });
});

Deno.test("a crash before the metadata rename leaves the previous snapshot in force", async () => {
  const store = await newStore();
  const good = await store.save("a", demoMachine(1000));
  // What a crash between writing the new stream and committing its metadata leaves behind:
  await Deno.writeFile(`${store.dir}/a.0123456789abcdef.qevm`, new Uint8Array(100));
  await Deno.writeTextFile(`${store.dir}/.a.json.tmp-1-2`, "{");
  deepStrictEqual((await store.list()).map((x) => x.sha256), [good.sha256]);
  const r = await store.load("a", (ram) => freshMachine(ram));
  strictEqual(r.meta.file, good.file);
});

Deno.test("load() reports a stream changed on disk before building any machine", async () => {
  const store = await newStore();
  const meta = await store.save("a", demoMachine(1000));
  const bytes = await Deno.readFile(store.streamPath(meta));
  bytes[bytes.length - 100] ^= 0xff;
  await Deno.writeFile(store.streamPath(meta), bytes);
  let built = 0;
  await rejects(
    store.load("a", (ram) => (built++, freshMachine(ram))),
    (e: unknown) =>
      e instanceof StoreError && e.reason === "changed" && e.kind === "corrupt" &&
      e.message.includes("changed on disk"),
  );
  strictEqual(built, 0);
  strictEqual((await store.verify("a")).ok, false);
  // --ignore-checksum lets the engine judge the bytes themselves.
  await store.load("a", (ram) => freshMachine(ram), { ignoreChecksum: true }).catch((e) =>
    ok(e instanceof MigrationError, String(e))
  );
});

Deno.test("get() and load() name what is missing or malformed", async () => {
  const store = await newStore();
  await rejects(store.get("nope"), isStoreError("not-found"));
  await rejects(store.get("../etc/passwd"), isStoreError("bad-name"));
  await Deno.writeTextFile(`${store.dir}/bad.json`, "{not json");
  await rejects(store.get("bad"), isStoreError("metadata"));
  deepStrictEqual(await store.list(), []);
  const meta = await store.save("gone", demoMachine(1000));
  await Deno.remove(store.streamPath(meta));
  await rejects(store.load("gone", (ram) => freshMachine(ram)), isStoreError("not-found"));
});

Deno.test("list() of a store directory that does not exist yet is empty", async () => {
  const store = new SnapshotStore(`${await Deno.makeTempDir()}/not/yet`);
  deepStrictEqual(await store.list(), []);
  await store.save("x", demoMachine(10));
  deepStrictEqual(await store.names(), ["x"]);
});

Deno.test("delete() removes the metadata and the stream", async () => {
  const store = await newStore();
  await store.save("a", demoMachine(10));
  await store.delete("a");
  deepStrictEqual(files(store.dir), []);
  await rejects(store.delete("a"), isStoreError("not-found"));
});

Deno.test("export() copies the exact stream and refuses to overwrite without force", async () => {
  const store = await newStore();
  const meta = await store.save("a", demoMachine(1000));
  const out = `${await Deno.makeTempDir()}/a.qevm`;
  await store.export("a", out);
  deepStrictEqual(await Deno.readFile(out), await Deno.readFile(store.streamPath(meta)));
  await rejects(store.export("a", out), isStoreError("exists"));
  await store.export("a", out, { force: true });
});

Deno.test("export() refuses a stream that changed on disk", async () => {
  const store = await newStore();
  const meta = await store.save("a", demoMachine(1000));
  await Deno.writeFile(store.streamPath(meta), new Uint8Array([1, 2, 3]));
  const out = `${await Deno.makeTempDir()}/a.qevm`;
  await rejects(store.export("a", out), isStoreError("changed"));
  await rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("import() records the checksum, machine, RAM size, instructions and virtual time of a stream", async () => {
  const store = await newStore();
  const m = demoMachine(300_000);
  const meta = await store.save("a", m);
  const imported = await store.import(store.streamPath(meta), "b");
  strictEqual(imported.sha256, meta.sha256);
  strictEqual(imported.ramSize, 16 << 20);
  strictEqual(imported.machine, "virt");
  strictEqual(imported.origin, "import");
  // The stream's cpu/snapshell-counters subsection carries minstret and mcycle.
  strictEqual(imported.insns, m.cpu.instret);
  strictEqual(imported.virtualNs, m.nowNs().toString());
  ok(imported.insns > 0 && meta.insns === imported.insns && meta.virtualNs === imported.virtualNs);
  await rejects(store.import(store.streamPath(meta), "b"), isStoreError("exists"));
});

Deno.test("import() refuses a file that is not a migration stream, and takes a damaged one", async () => {
  const store = await newStore();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/text`, "hello, not a stream");
  await rejects(store.import(`${dir}/text`, "t"), StreamFormatError);
  const meta = await store.save("a", demoMachine(1000));
  const cut = (await Deno.readFile(store.streamPath(meta))).subarray(0, 3000);
  await Deno.writeFile(`${dir}/cut`, cut);
  const cutMeta = await store.import(`${dir}/cut`, "cut");
  // The cut stream never reaches the cpu section: its counters are unknown, not guessed.
  strictEqual(cutMeta.insns, null);
  strictEqual(cutMeta.virtualNs, null);
  await rejects(
    store.load("cut", (ram) => freshMachine(ram)),
    (e: unknown) => e instanceof MigrationError && e.kind === "corrupt" && e.offset === 3000,
  );
  deepStrictEqual(await store.names(), ["a", "cut"]);
});

const ROOT = new URL("../../../", import.meta.url).pathname;

/** `import SRC NAME` in a separate process against `dir`; its exit code and stderr. */
async function importInProcess(dir: string, src: string, name: string, force: boolean) {
  const args = ["run", "-A", `${ROOT}main.ts`, "import", src, name, ...(force ? ["--force"] : [])];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { SNAPSHELL_STORE: dir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

Deno.test("two processes importing one name: one wins, the other is told it exists, no orphan", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SnapshotStore(`${dir}/store`);
    const a = `${dir}/a.qevm`, b = `${dir}/b.qevm`;
    const m = new VirtMachine({ ramSize: 64 << 10 });
    await store.save("x", m);
    await store.export("x", a);
    m.run(100);
    await store.save("y", m);
    await store.export("y", b);
    await store.delete("x");
    await store.delete("y");
    const [ra, rb] = await Promise.all([
      importInProcess(`${dir}/store`, a, "same", false),
      importInProcess(`${dir}/store`, b, "same", false),
    ]);
    deepStrictEqual([ra.code, rb.code].sort(), [0, 1], `${ra.err}\n${rb.err}`);
    ok(/already exists/.test(ra.code ? ra.err : rb.err), ra.err + rb.err);
    const meta = await store.get("same");
    deepStrictEqual(files(`${dir}/store`), [meta.file, "same.json"].sort());
    // Both with --force: serialized; the index names the file that is there.
    const [fa, fb] = await Promise.all([
      importInProcess(`${dir}/store`, a, "same", true),
      importInProcess(`${dir}/store`, b, "same", true),
    ]);
    deepStrictEqual([fa.code, fb.code], [0, 0], fa.err + fb.err);
    const after = await store.get("same");
    deepStrictEqual(files(`${dir}/store`), [after.file, "same.json"].sort());
    strictEqual((await store.verify("same")).ok, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("temp files of a killed writer are removed when the store next opens; a live one's stay", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A pid that no longer runs: a finished child's.
    const child = new Deno.Command("true").spawn();
    const dead = child.pid;
    await child.status;
    const stale = `${dir}/.victim.qevm.tmp-${dead}-abc123`;
    const live = `${dir}/.other.qevm.tmp-${Deno.pid}-def456`;
    await Deno.writeFile(stale, new Uint8Array(1000));
    await Deno.writeFile(live, new Uint8Array(10));
    const store = new SnapshotStore(dir);
    deepStrictEqual(await store.list(), []);
    deepStrictEqual(files(dir), [baseOf(live)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import() of a QEMU 7.2 stream (no snapshell counters) leaves instructions and time unknown", async () => {
  const store = await newStore();
  const fixture = new URL("../../fixtures/qemu72/virt-icount.qemu", import.meta.url).pathname;
  const meta = await store.import(fixture, "q");
  strictEqual(meta.machine.startsWith("virt"), true);
  strictEqual(meta.insns, null);
  strictEqual(meta.virtualNs, null);
});
