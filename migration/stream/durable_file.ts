/**
 * The one durable atomic writer every file the project writes goes through (the snapshot store,
 * `snapshot`, `corrupt` output, `migrate file:`): the bytes go to a temporary file in the
 * destination's directory, the file is fsynced, renamed over the destination, and the directory
 * is fsynced. A crash or an error at any point leaves either the old file or the new one, never
 * a mix; an error removes the temporary file. Temporary names carry the writer's pid, so one left
 * by a killed writer can be told from one still being written ({@link staleTemps}).
 * @module
 */

/** Directory part of a path ("." for a bare file name). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Base name of a path. */
export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A hidden temporary path beside `path`, unique to this process and call. */
export function tempPathFor(path: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return `${dirOf(path)}/.${baseOf(path)}.tmp-${Deno.pid}-${rand}`;
}

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Whether process `pid` is alive: /proc when it can be read, else the kernel's answer to
 * `kill -0` (Deno asks for full access to read /proc); when neither can say, assumed alive, so
 * nothing is removed.
 */
function alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
  }
  try {
    const out = new Deno.Command("sh", {
      args: ["-c", `kill -0 ${pid}`],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    return out.success || !/no such process/i.test(new TextDecoder().decode(out.stderr));
  } catch {
    return true;
  }
}

/** Temporary files in `dir` left by writers that no longer run (a `kill -9` mid-write). */
export async function staleTemps(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = e.isFile ? TEMP_NAME.exec(e.name) : null;
      if (m && !alive(Number(m[1]))) out.push(`${dir}/${e.name}`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** Best-effort fsync of a directory so a rename inside it is durable. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* not supported here (some platforms cannot open directories) */ }
}

/** A file being written durably: bytes go to `file` (the temp), then commit or abort. */
export interface DurableFile {
  /** The temporary path being written. */
  readonly tmp: string;
  /** The open temporary file. */
  readonly file: Deno.FsFile;
  /** Fsync and close the temp file without installing it (for writers that commit later). */
  seal(): Promise<void>;
  /** Seal, rename over the destination, fsync the directory; on error the temp is removed. */
  commit(): Promise<void>;
  /** Close and remove the temp file; never throws. */
  abort(): Promise<void>;
}

/**
 * Open a new temporary file beside `dest` for a writer that streams into it over time
 * (`migrate file:`); the destination is replaced only by {@link DurableFile.commit}.
 */
export async function openDurable(dest: string): Promise<DurableFile> {
  const tmp = tempPathFor(dest);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      try {
        file.close();
      } catch { /* already closed */ }
    }
  };
  const d: DurableFile = {
    tmp,
    file,
    async seal() {
      try {
        await file.sync();
      } catch (e) {
        await d.abort();
        throw e;
      }
      close();
    },
    async commit() {
      await d.seal();
      await installTemp(tmp, dest);
    },
    async abort() {
      close();
      await Deno.remove(tmp).catch(() => {});
    },
  };
  return d;
}

/**
 * Fill a new temporary file beside `dest` through `fill` and fsync it, without installing it
 * (for writers that commit later, under a lock); on error the temporary file is removed.
 */
export async function writeTemp<T>(
  dest: string,
  fill: (file: Deno.FsFile) => Promise<T>,
): Promise<{ tmp: string; result: T }> {
  const d = await openDurable(dest);
  let result: T;
  try {
    result = await fill(d.file);
  } catch (e) {
    await d.abort();
    throw e;
  }
  await d.seal();
  return { tmp: d.tmp, result };
}

/** Rename a synced temporary file over `dest` and fsync the directory; on error remove `tmp`. */
export async function installTemp(tmp: string, dest: string): Promise<void> {
  try {
    await Deno.rename(tmp, dest);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirOf(dest));
}

/** Write `dest` durably and atomically: temp file, fsync, rename, fsync the directory. */
export async function writeDurable<T>(
  dest: string,
  fill: (file: Deno.FsFile) => Promise<T>,
): Promise<T> {
  const { tmp, result } = await writeTemp(dest, fill);
  await installTemp(tmp, dest);
  return result;
}

/** Write `bytes` to `dest` with {@link writeDurable}. */
export async function writeFileDurable(dest: string, bytes: Uint8Array): Promise<void> {
  await writeDurable(dest, (f) => writeAll(f, bytes));
}

/** Write all of `bytes` to `file`. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}
