import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { StoreError } from "../../../harness/store/errors.ts";
import { decodedCopy, diffMachines, machinesEqual } from "../../../harness/store/machine_diff.ts";
import { META_FORMAT, SnapshotStore } from "../../../harness/store/store.ts";
import { MigrationError, SaveError, StreamFormatError } from "../../../migration/errors.ts";
import type { StreamWriter } from "../../../migration/stream/writer.ts";
import { demoMachine, freshMachine } from "../_machines.ts";

const newStore = async () => new SnapshotStore(await Deno.makeTempDir({ prefix: "store-" }));
const files = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
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

Deno.test("import() records the checksum, machine and RAM size of a stream file", async () => {
  const store = await newStore();
  const meta = await store.save("a", demoMachine(1000));
  const imported = await store.import(store.streamPath(meta), "b");
  strictEqual(imported.sha256, meta.sha256);
  strictEqual(imported.ramSize, 16 << 20);
  strictEqual(imported.machine, "virt");
  strictEqual(imported.origin, "import");
  strictEqual(imported.insns, null);
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
  await store.import(`${dir}/cut`, "cut");
  await rejects(
    store.load("cut", (ram) => freshMachine(ram)),
    (e: unknown) => e instanceof MigrationError && e.kind === "corrupt" && e.offset === 3000,
  );
  deepStrictEqual(await store.names(), ["a", "cut"]);
});
