/**
 * Builds snapshell's Linux guest from Debian packages into a cache outside the work tree:
 * OpenSBI 1.1 `fw_dynamic.bin` for rv32ima (from Debian's qemu source package), the init (the
 * kernel's nolibc, static) and a small Linux 6.1 `Image` with the init as its initramfs.
 *
 * Usage: deno task guests:linux   (a second run with nothing changed does nothing)
 *
 * Layout of the cache root (see recipe.ts): `src/` (extracted sources), `work/` (incremental
 * build trees: the kernel's O= directory survives input changes, so an init change re-links in
 * seconds), `<key>/` (finished artifacts of one set of inputs, written last through a rename).
 * @module
 */
import {
  ARTIFACT_FILES,
  CROSS_COMPILE,
  INIT_CFLAGS,
  inputPath,
  KERNEL_BUILD_ENV,
  LINUX_INPUTS,
  LINUX_PACKAGES,
  LINUX_TARBALL,
  linuxCacheRoot,
  linuxKey,
  OPENSBI_MAKE_ARGS,
} from "./recipe.ts";
import { linuxArtifacts } from "./artifacts.ts";
import { DEB_SRC_FILE, debSrcTwin, type SourcesFile } from "./apt.ts";

const dec = new TextDecoder();

/** A build step failed; carries the command and its output. */
class BuildError extends Error {
  /** Creates the error for a failed step. */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

function log(msg: string): void {
  console.log(`guests:linux: ${msg}`);
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  if (!out.success) {
    const tail = text.split("\n").slice(-40).join("\n");
    throw new BuildError(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${tail}`);
  }
  return text;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/** Writes `text` only when it differs, so make's timestamps stay put otherwise. */
async function writeIfChanged(path: string, data: string | Uint8Array): Promise<boolean> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const old = await Deno.readFile(path);
    if (old.length === bytes.length && old.every((b, i) => b === bytes[i])) return false;
  } catch { /* absent */ }
  await Deno.writeFile(path, bytes);
  return true;
}

async function packageVersion(name: string): Promise<string | null> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}\t${Version}", name],
    stdout: "piped",
    stderr: "null",
  }).output();
  const [status, version] = dec.decode(out.stdout).split("\t");
  return out.success && status === "install ok installed" ? version : null;
}

/** apt-get install of whatever is missing (nothing when all are there). */
async function ensurePackages(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const missing: string[] = [];
  for (const p of LINUX_PACKAGES) {
    const v = await packageVersion(p);
    if (v) versions[p] = v;
    else missing.push(p);
  }
  if (missing.length > 0) {
    log(`installing ${missing.join(" ")}`);
    await run("apt-get", ["install", "-y", "--no-install-recommends", ...missing]);
    for (const p of missing) versions[p] = (await packageVersion(p)) ?? "?";
  }
  return versions;
}

const SOURCES_DIR = "/etc/apt/sources.list.d";

/** Adds a `deb-src` twin of Debian's `.sources` entry when no deb-src entry exists; runs apt-get update then. */
async function ensureDebSrc(): Promise<void> {
  const files: SourcesFile[] = [];
  for await (const e of Deno.readDir(SOURCES_DIR)) {
    if (e.isFile) {
      files.push({ name: e.name, text: await Deno.readTextFile(`${SOURCES_DIR}/${e.name}`) });
    }
  }
  let twin: string | null;
  try {
    twin = debSrcTwin(files, (await readText("/etc/apt/sources.list")) ?? "");
  } catch (e) {
    throw new BuildError((e as Error).message);
  }
  if (twin === null) return;
  log("adding a deb-src entry (for apt-get source qemu)");
  await Deno.writeTextFile(`${SOURCES_DIR}/${DEB_SRC_FILE}`, twin);
  await run("apt-get", ["update"]);
}

/** Extracts linux-source-6.1 into `src/` once per package version. */
async function kernelSource(root: string, version: string): Promise<string> {
  const dir = `${root}/src/linux-source-6.1`;
  const stamp = `${root}/src/linux-source-6.1.version`;
  if ((await readText(stamp)) === version && await exists(`${dir}/Makefile`)) return dir;
  log(`extracting ${LINUX_TARBALL}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${root}/src`, { recursive: true });
  await run("tar", ["-xf", LINUX_TARBALL, "-C", `${root}/src`]);
  await Deno.writeTextFile(stamp, version);
  return dir;
}

/** Downloads Debian's qemu source package once and extracts its roms/opensbi (OpenSBI 1.1). */
async function opensbiSource(root: string): Promise<{ dir: string; qemuVersion: string }> {
  const dl = `${root}/src/qemu-src`;
  await Deno.mkdir(dl, { recursive: true });
  const find = async (re: RegExp) => {
    for await (const e of Deno.readDir(dl)) if (re.test(e.name)) return e.name;
    return null;
  };
  const findOrig = () => find(/^qemu_.*\.orig\.tar\.xz$/);
  let orig = await findOrig();
  if (orig === null) {
    await ensureDebSrc();
    log("downloading Debian's qemu source package (apt-get source --download-only qemu)");
    await run("apt-get", ["source", "--download-only", "qemu"], { cwd: dl });
    orig = await findOrig();
    if (orig === null) throw new BuildError("apt-get source qemu left no qemu_*.orig.tar.xz");
  }
  const qemuVersion = ((await find(/^qemu_.*\.dsc$/)) ?? orig)
    .replace(/^qemu_/, "").replace(/(\.orig\.tar\.xz|\.dsc)$/, "");
  const dir = `${root}/src/opensbi-from-qemu-${qemuVersion}`;
  if (!await exists(`${dir}/Makefile`)) {
    log(`extracting roms/opensbi from ${orig}`);
    await Deno.mkdir(dir, { recursive: true });
    await run("tar", [
      "-xf",
      `${dl}/${orig}`,
      "-C",
      dir,
      "--wildcards",
      "*/roms/opensbi/*",
      "--strip-components=3",
    ]);
  }
  return { dir, qemuVersion };
}

async function buildOpensbi(src: string, work: string): Promise<string> {
  const out = `${work}/opensbi`;
  log("building OpenSBI fw_dynamic.bin (rv32ima)");
  await run("make", ["-C", src, `O=${out}`, ...OPENSBI_MAKE_ARGS, "-j2"]);
  return `${out}/platform/generic/firmware/fw_dynamic.bin`;
}

function kmake(src: string, kbuild: string, ...targets: string[]): string[] {
  return ["-C", src, `O=${kbuild}`, "ARCH=riscv", `CROSS_COMPILE=${CROSS_COMPILE}`, ...targets];
}

/** tinyconfig + our fragment + olddefconfig, redone only when the fragment changes. */
async function configureKernel(src: string, kbuild: string, initramfsList: string): Promise<void> {
  const fragment = (await Deno.readTextFile(inputPath("kernel.config")))
    .replace(/^CONFIG_INITRAMFS_SOURCE=.*$/m, `CONFIG_INITRAMFS_SOURCE="${initramfsList}"`);
  const stamp = `${kbuild}/snapshell-fragment.config`;
  if ((await readText(stamp)) === fragment && await exists(`${kbuild}/.config`)) return;
  log("configuring the kernel (tinyconfig + kernel.config)");
  await Deno.mkdir(kbuild, { recursive: true });
  await run("make", kmake(src, kbuild, "tinyconfig"));
  const frag = `${kbuild}/snapshell-fragment.tmp`;
  await Deno.writeTextFile(frag, fragment);
  await run("sh", [
    `${src}/scripts/kconfig/merge_config.sh`,
    "-m",
    "-O",
    kbuild,
    `${kbuild}/.config`,
    frag,
  ]);
  await run("make", kmake(src, kbuild, "olddefconfig"));
  await checkConfig(kbuild, fragment);
  await Deno.writeTextFile(stamp, fragment);
}

/** Every `CONFIG_X=y` / `# CONFIG_X is not set` of the fragment must survive olddefconfig. */
async function checkConfig(kbuild: string, fragment: string): Promise<void> {
  const config = await Deno.readTextFile(`${kbuild}/.config`);
  const lines = new Set(config.split("\n"));
  const lost = fragment.split("\n").filter((l) =>
    (/^CONFIG_\w+=/.test(l) || /^# CONFIG_\w+ is not set$/.test(l)) && !lines.has(l)
  );
  if (lost.length > 0) {
    throw new BuildError(`kernel config lost these fragment lines:\n${lost.join("\n")}`);
  }
}

async function buildInit(src: string, kbuild: string, dir: string): Promise<string> {
  if (!await exists(`${kbuild}/usr/include/linux/types.h`)) {
    log("installing the kernel's UAPI headers (make headers)");
    await run("make", kmake(src, kbuild, "headers"));
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${dir}/init.new`;
  log("building the init (nolibc, static)");
  await run(`${CROSS_COMPILE}gcc`, [
    ...INIT_CFLAGS,
    "-I",
    `${src}/tools/include/nolibc`,
    "-I",
    `${kbuild}/usr/include`,
    "-o",
    tmp,
    inputPath("init.c"),
    "-lgcc",
  ]);
  await run(`${CROSS_COMPILE}strip`, [tmp]);
  const init = `${dir}/init`;
  await writeIfChanged(init, await Deno.readFile(tmp));
  await Deno.remove(tmp);
  return init;
}

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function printArtifacts(a: { dir: string; bios: string; kernel: string; init: string }): void {
  console.log(`bios:   ${a.bios}\nkernel: ${a.kernel}\ninit:   ${a.init}`);
}

async function main(): Promise<void> {
  const done = linuxArtifacts();
  if (done) {
    log("up to date, nothing to do");
    printArtifacts(done);
    return;
  }
  const root = linuxCacheRoot();
  const key = linuxKey();
  const work = `${root}/work`;
  const started = performance.now();
  const versions = await ensurePackages();
  const ksrc = await kernelSource(root, versions["linux-source-6.1"]);
  const { dir: sbiSrc, qemuVersion } = await opensbiSource(root);
  const bios = await buildOpensbi(sbiSrc, work);

  const kbuild = `${work}/kernel`;
  const initDir = `${work}/initramfs`;
  const initramfsList = `${initDir}/initramfs.list`;
  await configureKernel(ksrc, kbuild, initramfsList);
  const init = await buildInit(ksrc, kbuild, initDir);
  await writeIfChanged(
    initramfsList,
    [
      "dir /dev 0755 0 0",
      "nod /dev/console 0600 0 0 c 5 1",
      "dir /proc 0755 0 0",
      `file /init ${init} 0755 0 0`,
      "",
    ].join("\n"),
  );
  log("building the kernel Image (make -j2 Image; ~2.5 min from scratch)");
  await run("make", kmake(ksrc, kbuild, "-j2", "Image"), { env: { ...KERNEL_BUILD_ENV } });
  const image = `${kbuild}/arch/riscv/boot/Image`;

  const final = `${root}/${key}`;
  const tmp = `${root}/${key}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.copyFile(bios, `${tmp}/${ARTIFACT_FILES.bios}`);
  await Deno.copyFile(image, `${tmp}/${ARTIFACT_FILES.kernel}`);
  await Deno.copyFile(init, `${tmp}/${ARTIFACT_FILES.init}`);
  const manifest = {
    key,
    inputs: LINUX_INPUTS,
    packages: versions,
    qemuSource: qemuVersion,
    files: Object.fromEntries(
      await Promise.all(
        (["bios", "kernel", "init"] as const).map(async (k) => {
          const p = `${tmp}/${ARTIFACT_FILES[k]}`;
          return [k, {
            name: ARTIFACT_FILES[k],
            size: (await Deno.stat(p)).size,
            sha256: await sha256(p),
          }];
        }),
      ),
    ),
  };
  await Deno.writeTextFile(
    `${tmp}/${ARTIFACT_FILES.manifest}`,
    JSON.stringify(manifest, null, 2) + "\n",
  );
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, final);
  log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const a = linuxArtifacts();
  if (!a) throw new BuildError(`artifacts missing after the build in ${final}`);
  printArtifacts(a);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(e instanceof BuildError ? `guests:linux: ${e.message}` : e);
    Deno.exit(1);
  }
}
