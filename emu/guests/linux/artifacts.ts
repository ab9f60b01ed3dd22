/**
 * Finds the built Linux guest (OpenSBI firmware, kernel Image with the init inside) in the cache,
 * for tests and the shell; says which command builds it when it is not there.
 * @module
 */
import { ARTIFACT_FILES, LINUX_BUILD_COMMAND, linuxArtifactDir } from "./recipe.ts";

export { LINUX_BUILD_COMMAND } from "./recipe.ts";

/** Paths of a complete build of the current inputs. */
export interface LinuxArtifacts {
  /** The artifact directory (`<cache>/<key>`). */
  dir: string;
  /** OpenSBI 1.1 `fw_dynamic.bin`, loaded at 0x80000000. */
  bios: string;
  /** Linux 6.1 `Image` (the init is its built-in initramfs). */
  kernel: string;
  /** The init on its own (static rv32 ELF), for reference. */
  init: string;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The built guest for the committed inputs, or null when it has not been built (see {@link LINUX_BUILD_COMMAND}). */
export function linuxArtifacts(): LinuxArtifacts | null {
  const dir = linuxArtifactDir();
  const a = {
    dir,
    bios: `${dir}/${ARTIFACT_FILES.bios}`,
    kernel: `${dir}/${ARTIFACT_FILES.kernel}`,
    init: `${dir}/${ARTIFACT_FILES.init}`,
  };
  // The manifest is written last, so its presence means the three files are complete.
  const complete = [a.bios, a.kernel, a.init, `${dir}/${ARTIFACT_FILES.manifest}`].every(isFile);
  return complete ? a : null;
}

/** Why the guest is missing, naming the command that builds it. */
export function linuxMissingReason(): string {
  return `Linux guest not built (run \`${LINUX_BUILD_COMMAND}\`; expected in ${linuxArtifactDir()})`;
}
