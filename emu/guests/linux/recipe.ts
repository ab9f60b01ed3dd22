/**
 * The Linux guest's recipe: which committed files and settings decide the built firmware, kernel
 * and init, and where the cache that holds them lives. Shared by the build script and the lookup
 * that tests and the shell use, so the two can never disagree about the cache key.
 * @module
 */
import { createHash } from "node:crypto";

/** Command that builds the Linux guest (printed when it is missing). */
export const LINUX_BUILD_COMMAND = "deno task guests:linux";

/** Debian packages the build needs (installed with apt when missing). */
export const LINUX_PACKAGES = [
  "gcc-riscv64-linux-gnu",
  "linux-source-6.1",
  "make",
  "flex",
  "bison",
  "bc",
  "libelf-dev",
  "libssl-dev",
  "cpio",
  "xz-utils",
  "dpkg-dev",
] as const;

/** The kernel source tarball `linux-source-6.1` installs. */
export const LINUX_TARBALL = "/usr/src/linux-source-6.1.tar.xz";

/** Cross-compiler prefix (gcc-riscv64-linux-gnu builds rv32 with -march/-mabi). */
export const CROSS_COMPILE = "riscv64-linux-gnu-";

/** OpenSBI 1.1 (from QEMU 7.2's roms/opensbi) for an rv32ima hart. */
export const OPENSBI_MAKE_ARGS = [
  "PLATFORM=generic",
  "PLATFORM_RISCV_XLEN=32",
  "PLATFORM_RISCV_ISA=rv32ima_zicsr_zifencei",
  "PLATFORM_RISCV_ABI=ilp32",
  `CROSS_COMPILE=${CROSS_COMPILE}`,
];

/** Compiler flags of the init (static, no C library: the kernel's nolibc). */
export const INIT_CFLAGS = [
  "-march=rv32ima_zicsr_zifencei",
  "-mabi=ilp32",
  "-Os",
  "-static",
  "-nostdlib",
  "-ffreestanding",
  "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables",
  "-fno-ident",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wl,--build-id=none",
];

/**
 * Fixed build identity for the kernel, so that the same inputs give the same `Image` bytes (and
 * the same `Linux version` line on the console) on every machine.
 */
export const KERNEL_BUILD_ENV = {
  KBUILD_BUILD_TIMESTAMP: "Sun Jan 1 00:00:00 UTC 2023",
  KBUILD_BUILD_USER: "snapshell",
  KBUILD_BUILD_HOST: "snapshell",
  KBUILD_BUILD_VERSION: "1",
} as const;

/** Committed inputs of the build, relative to this directory. */
export const LINUX_INPUTS = ["kernel.config", "init.c", "nolibc_compat.h"] as const;

/** Bumped when the build steps change in a way the inputs above do not show. */
const RECIPE_VERSION = 2;

const here = new URL(".", import.meta.url);

/** Path of a committed input file. */
export function inputPath(name: string): string {
  return new URL(name, here).pathname;
}

/** Root of the cache: `$SNAPSHELL_LINUX_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/snapshell/linux`. */
export function linuxCacheRoot(): string {
  const explicit = Deno.env.get("SNAPSHELL_LINUX_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const base = xdg ? xdg : `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/snapshell/linux`;
}

/** Cache key: a hash of the committed inputs and the recipe settings (16 hex digits). */
export function linuxKey(): string {
  const h = createHash("sha256");
  h.update(
    JSON.stringify({
      RECIPE_VERSION,
      LINUX_TARBALL,
      CROSS_COMPILE,
      OPENSBI_MAKE_ARGS,
      INIT_CFLAGS,
      KERNEL_BUILD_ENV,
    }),
  );
  for (const name of LINUX_INPUTS) {
    h.update(`\0${name}\0`);
    h.update(Deno.readFileSync(inputPath(name)));
  }
  return h.digest("hex").slice(0, 16);
}

/** Directory that holds (or will hold) the artifacts of the current inputs. */
export function linuxArtifactDir(): string {
  return `${linuxCacheRoot()}/${linuxKey()}`;
}

/** File names inside an artifact directory. */
export const ARTIFACT_FILES = {
  bios: "fw_dynamic.bin",
  kernel: "Image",
  init: "init",
  manifest: "manifest.json",
} as const;
