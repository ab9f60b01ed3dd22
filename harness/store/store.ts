/**
 * The snapshot store: named machine snapshots in one directory (`snapshots/` by default,
 * `--store DIR` or `SNAPSHELL_STORE`). Each snapshot is a QEMU-format stream
 * `NAME.<sha16>.qevm` plus its metadata `NAME.json` (size, creation time, instruction count,
 * machine, RAM size and the stream's SHA-256). The metadata file is the commit point: it is
 * renamed into place only after the stream is on disk, and an older stream is removed only after
 * that, so an error or crash at any moment leaves the previous snapshot intact. On load the
 * checksum is verified first, so a file changed on disk is reported as such before anything is
 * loaded.
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { probeRamLayout } from "../../migration/ram/probe.ts";
import { RAM_MAX_SIZE } from "../../emu/ram.ts";
import type { LoadReport } from "../../migration/sections/loadvm.ts";
import { fileSink, fileSource } from "../../migration/stream/io.ts";
import { type ByteSource, StreamReader } from "../../migration/stream/reader.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { StoreError } from "./errors.ts";
import { staleTemps, writeTemp } from "../../migration/stream/durable_file.ts";
import { StreamFormatError } from "../../migration/errors.ts";
import {
  type ByteProgress,
  copyFileAtomic,
  hashFile,
  hashingSink,
  ioError,
  openForReading,
  syncDir,
  tempPathFor,
  writeFileAtomic,
} from "./files.ts";
import { validateSnapshotName } from "./names.ts";
import { probeMachineName } from "./probe.ts";
import { probeStreamClock, type StreamClock } from "./clock_probe.ts";

/** Default store directory, relative to the working directory. */
export const DEFAULT_STORE_DIR = "snapshots";

/** Metadata format tag written in every `NAME.json`. */
export const META_FORMAT = "snapshell-snapshot/1";

/** What the store records about one snapshot (the `NAME.json` sidecar). */
export interface SnapshotMeta {
  /** Always {@link META_FORMAT}. */
  format: string;
  /** Snapshot name. */
  name: string;
  /** Stream file name inside the store directory. */
  file: string;
  /** Stream size in bytes. */
  bytes: number;
  /** SHA-256 of the stream (hex), recorded when it was written. */
  sha256: string;
  /** ISO creation time. */
  created: string;
  /** Instructions the guest had retired (null for imported streams). */
  insns: number | null;
  /** Virtual time in ns as a decimal string (null for imported streams). */
  virtualNs: string | null;
  /** Machine type from the stream's configuration record. */
  machine: string;
  /** Guest RAM size in bytes (null when the stream announces none). */
  ramSize: number | null;
  /** Guest program the machine was booted with, when known. */
  guest: string | null;
  /** How it got here. */
  origin: "save" | "import";
}

/** Options of {@link SnapshotStore.save}. */
export interface SaveOptions {
  /** Replace an existing snapshot of that name. */
  force?: boolean;
  /** Guest program name recorded in the metadata. */
  guest?: string;
  /** Bytes written so far. */
  onProgress?: ByteProgress;
}

/** Options of {@link SnapshotStore.load}. */
export interface StoreLoadOptions {
  /** Load even when the stream no longer matches its recorded checksum. */
  ignoreChecksum?: boolean;
  /** Progress of the checksum pass and of the load (bytes). */
  onProgress?: (phase: "verify" | "load", done: number, total: number) => void;
}

/** Result of a successful load: the new machine, what it came from and the loader's report. */
export interface StoreLoadResult<M extends Machine> {
  /** The machine the snapshot was loaded into. */
  machine: M;
  /** The snapshot's metadata. */
  meta: SnapshotMeta;
  /** The loader's report. */
  report: LoadReport;
}

/** Outcome of a checksum verification. */
export interface VerifyResult {
  /** True when the stream matches its recorded checksum. */
  ok: boolean;
  /** Recorded SHA-256. */
  expected: string;
  /** SHA-256 of the file now. */
  actual: string;
}

function isMeta(v: unknown): v is SnapshotMeta {
  const m = v as SnapshotMeta;
  return typeof m === "object" && m !== null && m.format === META_FORMAT &&
    typeof m.name === "string" && typeof m.file === "string" && typeof m.bytes === "number" &&
    typeof m.sha256 === "string" && /^[0-9a-f]{64}$/.test(m.sha256) &&
    typeof m.created === "string" && !m.file.includes("/");
}

/** Named snapshots in one directory, written atomically and checked on load. */
export class SnapshotStore {
  /** The store directory. */
  readonly dir: string;

  /** Whether stale temp files were looked for already. */
  private swept = false;

  constructor(dir: string = DEFAULT_STORE_DIR) {
    this.dir = dir.replace(/\/+$/, "") || "/";
  }

  /** The store directory chosen by `SNAPSHELL_STORE`, else the default. */
  static dirFromEnv(): string {
    return Deno.env.get("SNAPSHELL_STORE") || DEFAULT_STORE_DIR;
  }

  private metaPath(name: string): string {
    return `${this.dir}/${name}.json`;
  }

  /** Path of a snapshot's stream file. */
  streamPath(meta: SnapshotMeta): string {
    return `${this.dir}/${meta.file}`;
  }

  /** Every snapshot, by name; unreadable metadata files are skipped. */
  async list(): Promise<SnapshotMeta[]> {
    const out: SnapshotMeta[] = [];
    await this.sweep();
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile || !e.name.endsWith(".json") || e.name.startsWith(".")) continue;
        const meta = await this.get(e.name.slice(0, -5)).catch(() => undefined);
        if (meta) out.push(meta);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw ioError("list the store", this.dir, e);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Names of every snapshot (completion). */
  async names(): Promise<string[]> {
    return (await this.list()).map((m) => m.name);
  }

  /** True when a snapshot of that name exists. */
  async has(name: string): Promise<boolean> {
    try {
      await Deno.stat(this.metaPath(validateSnapshotName(name)));
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw ioError("look up", this.metaPath(name), e, name);
    }
  }

  /** A snapshot's metadata; not-found and malformed metadata are StoreErrors. */
  async get(name: string): Promise<SnapshotMeta> {
    validateSnapshotName(name);
    const path = this.metaPath(name);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new StoreError("not-found", `No snapshot named "${name}" in ${this.dir}`, {
          snapshot: name,
          path,
        });
      }
      throw ioError("read", path, e, name);
    }
    let meta: unknown;
    try {
      meta = JSON.parse(text);
    } catch (e) {
      throw new StoreError("metadata", `Metadata of snapshot "${name}" is not JSON: ${e}`, {
        snapshot: name,
        path,
      });
    }
    if (!isMeta(meta) || meta.name !== name) {
      throw new StoreError("metadata", `Metadata of snapshot "${name}" is malformed`, {
        snapshot: name,
        path,
      });
    }
    return meta;
  }

  private async ensureDir(): Promise<void> {
    try {
      await Deno.mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw ioError("create the store directory", this.dir, e);
    }
    await this.sweep();
  }

  /** Once per store object: remove temp files left by writers that were killed mid-write. */
  private async sweep(): Promise<void> {
    if (this.swept) return;
    this.swept = true;
    for (const path of await staleTemps(this.dir).catch(() => [])) {
      await Deno.remove(path).catch(() => {});
    }
  }

  /**
   * Run `fn` holding the store's writer lock (an flock on `.lock`, released by the kernel if the
   * process dies), so "exists" checks and the index change as one step between processes.
   */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const path = `${this.dir}/.lock`;
    let lock: Deno.FsFile;
    try {
      lock = await Deno.open(path, { read: true, write: true, create: true });
      await lock.lock(true);
    } catch (e) {
      throw ioError("lock the store", path, e);
    }
    try {
      return await fn();
    } finally {
      try {
        await lock.unlock();
      } catch { /* closing releases it too */ }
      lock.close();
    }
  }

  private async refuseOverwrite(name: string, force: boolean | undefined): Promise<void> {
    if (!force && await this.has(name)) {
      throw new StoreError(
        "exists",
        `Snapshot "${name}" already exists: use --force to replace it`,
        { snapshot: name, path: this.metaPath(name) },
      );
    }
  }

  /**
   * Install a stream that is already in the store directory under its temp name, under the
   * writer lock: "exists" is checked again there (another writer may have committed the name
   * meanwhile), and the index never names a file that is not there.
   */
  private async commit(
    tmp: string,
    meta: Omit<SnapshotMeta, "file">,
    force: boolean | undefined,
  ): Promise<SnapshotMeta> {
    return await this.locked(async () => {
      try {
        await this.refuseOverwrite(meta.name, force);
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
      return await this.install(tmp, meta);
    });
  }

  private async install(tmp: string, meta: Omit<SnapshotMeta, "file">): Promise<SnapshotMeta> {
    const full: SnapshotMeta = { ...meta, file: `${meta.name}.${meta.sha256.slice(0, 16)}.qevm` };
    const previous = await this.get(meta.name).catch(() => undefined);
    const dest = `${this.dir}/${full.file}`;
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw ioError("install", dest, e, meta.name);
    }
    await syncDir(this.dir);
    const text = new TextEncoder().encode(JSON.stringify(full, null, 2) + "\n");
    try {
      await writeFileAtomic(this.metaPath(meta.name), text);
    } catch (e) {
      if (previous?.file !== full.file) await Deno.remove(dest).catch(() => {});
      throw e;
    }
    if (previous && previous.file !== full.file) {
      await Deno.remove(`${this.dir}/${previous.file}`).catch(() => {});
    }
    return full;
  }

  /** Save `machine` as `name`; an existing snapshot survives any failure (and needs `force`). */
  async save(name: string, machine: Machine, opts: SaveOptions = {}): Promise<SnapshotMeta> {
    validateSnapshotName(name);
    await this.refuseOverwrite(name, opts.force);
    await this.ensureDir();
    const dest = `${this.dir}/${name}.qevm`;
    let tmp: string, sha256: string, bytes: number;
    try {
      // The durable writer's temp file, synced; installed by commit() under the store's lock.
      ({ tmp, result: { sha256, bytes } } = await writeTemp(dest, async (file) => {
        const sink = hashingSink(fileSink(file), opts.onProgress);
        await machine.save(new StreamWriter(sink));
        return { sha256: sink.hash.digest("hex"), bytes: sink.bytes };
      }));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
        throw ioError("write", dest, e, name);
      }
      throw e;
    }
    return await this.commit(tmp, {
      format: META_FORMAT,
      name,
      bytes,
      sha256,
      created: new Date().toISOString(),
      insns: machine.cpu.instret,
      virtualNs: machine.nowNs().toString(),
      machine: machine.machineType,
      ramSize: machine.ram.size,
      guest: opts.guest ?? null,
      origin: "save",
    }, opts.force);
  }

  /** Compare a snapshot's stream with its recorded checksum. */
  async verify(name: string, onProgress?: ByteProgress): Promise<VerifyResult> {
    const meta = await this.get(name);
    const { sha256 } = await hashFile(this.streamPath(meta), onProgress).catch((e) => {
      throw ioError("read the stream of", this.streamPath(meta), e, name);
    });
    return { ok: sha256 === meta.sha256, expected: meta.sha256, actual: sha256 };
  }

  private async verifyOrThrow(
    meta: SnapshotMeta,
    onProgress?: ByteProgress,
  ): Promise<void> {
    const v = await this.verify(meta.name, onProgress);
    if (!v.ok) {
      throw new StoreError(
        "changed",
        `Snapshot "${meta.name}" changed on disk since it was saved: SHA-256 is ${
          v.actual.slice(0, 16)
        }…, recorded ${v.expected.slice(0, 16)}… (file ${this.streamPath(meta)})`,
        { snapshot: meta.name, path: this.streamPath(meta) },
      );
    }
  }

  /**
   * Load snapshot `name` into a machine made by `makeMachine` (given the snapshot's RAM size).
   * The checksum is verified first; any failure is thrown and no machine is returned.
   */
  async load<M extends Machine>(
    name: string,
    makeMachine: (ramSize: number | undefined) => M,
    opts: StoreLoadOptions = {},
  ): Promise<StoreLoadResult<M>> {
    const meta = await this.get(name);
    const path = this.streamPath(meta);
    if (!opts.ignoreChecksum) {
      await this.verifyOrThrow(meta, (d, t) => opts.onProgress?.("verify", d, t ?? meta.bytes));
    }
    const file = await openForReading(path, "open the stream of", name);
    try {
      const size = (await file.stat()).size;
      const machine = makeMachine(meta.ramSize ?? undefined);
      const inner = fileSource(file, size);
      let done = 0;
      const source: ByteSource = {
        size,
        read: async (into) => {
          const n = await inner.read(into);
          if (n) {
            done += n;
            opts.onProgress?.("load", done, size);
          }
          return n;
        },
      };
      // 4 MiB reads, read ahead: the file's I/O overlaps the decoding.
      const reader = StreamReader.fromSource(source, 4 << 20, { readAhead: true });
      try {
        const report = await machine.load(reader);
        return { machine, meta, report };
      } finally {
        await reader.settle();
      }
    } finally {
      file.close();
    }
  }

  /** Delete a snapshot (metadata first, so a half-done delete never leaves a broken entry). */
  async delete(name: string): Promise<SnapshotMeta> {
    await this.get(name);
    return await this.locked(async () => {
      const meta = await this.get(name);
      try {
        await Deno.remove(this.metaPath(name));
      } catch (e) {
        throw ioError("delete", this.metaPath(name), e, name);
      }
      await Deno.remove(this.streamPath(meta)).catch(() => {});
      await syncDir(this.dir);
      return meta;
    });
  }

  /** Copy a snapshot's stream out to `dest` (atomically); a changed stream is refused. */
  async export(
    name: string,
    dest: string,
    opts: { force?: boolean; onProgress?: ByteProgress } = {},
  ): Promise<SnapshotMeta> {
    const meta = await this.get(name);
    if (!opts.force && await exists(dest)) {
      throw new StoreError("exists", `"${dest}" already exists: use --force to overwrite it`, {
        path: dest,
      });
    }
    const copy = await copyFileAtomic(this.streamPath(meta), dest, opts.onProgress);
    if (copy.sha256 !== meta.sha256) {
      await Deno.remove(dest).catch(() => {});
      throw new StoreError(
        "changed",
        `Snapshot "${name}" changed on disk since it was saved: not exported`,
        { snapshot: name, path: this.streamPath(meta) },
      );
    }
    return meta;
  }

  /** Import a migration stream file as snapshot `name` (its checksum is recorded now). */
  async import(
    src: string,
    name: string,
    opts: { force?: boolean; onProgress?: ByteProgress } = {},
  ): Promise<SnapshotMeta> {
    validateSnapshotName(name);
    await this.refuseOverwrite(name, opts.force);
    await this.ensureDir();
    // The source is read once (it may be a pipe or a FIFO); the copy is what gets probed.
    const tmp = tempPathFor(`${this.dir}/${name}.qevm`);
    const copy = await copyFileAtomic(src, tmp, opts.onProgress);
    let header: string;
    try {
      header = await probeMachineName(tmp);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      if (e instanceof StreamFormatError) {
        throw new StreamFormatError(`"${src}" is not a migration stream (no QEVM magic)`, {
          offset: 0,
        });
      }
      throw e;
    }
    let ramSize: number | null = null;
    try {
      ramSize = await probeFileRam(tmp);
    } catch { /* a damaged stream is still importable; loading it reports why */ }
    let clock: StreamClock | null = null;
    try {
      clock = await probeStreamClock(tmp);
    } catch { /* unknown, as for a stream that does not carry the counters */ }
    return await this.commit(tmp, {
      format: META_FORMAT,
      name,
      bytes: copy.bytes,
      sha256: copy.sha256,
      created: new Date().toISOString(),
      insns: clock?.insns ?? null,
      virtualNs: clock?.virtualNs.toString() ?? null,
      machine: header,
      ramSize,
      guest: null,
      origin: "import",
    }, opts.force);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw ioError("look up", path, e);
  }
}

async function probeFileRam(path: string): Promise<number | null> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    return (await probeRamLayout(StreamReader.fromSource(fileSource(file, size)), RAM_MAX_SIZE))
      ?.total ?? null;
  } finally {
    file.close();
  }
}
