/**
 * What a machine boots: an ELF (our bare-metal guests) or firmware + kernel the way QEMU's virt
 * machine boots them (`--bios`, `--kernel`, `--initrd`, `--append`, or `boot linux` for the
 * Linux guest that `deno task guests:linux` builds). One set of options and one loader shared by
 * `boot`, `run` and `snapshot`, so the three agree.
 * @module
 */
import {
  type BootFiles,
  type BootInfo,
  bootVirt,
  readBootFiles,
  virtDevices,
} from "../emu/boot/boot.ts";
import { linuxArtifacts, linuxMissingReason } from "../emu/guests/linux/artifacts.ts";
import { LINUX_APPEND } from "../emu/guests/linux/qemu.ts";
import { DEFAULT_GUEST, type VirtMachine } from "../emu/virt.ts";
import { fileType } from "./commands/arg_types.ts";
import { readElf } from "./machine_text.ts";
import { type OptionDef, type OptionValues, UsageError } from "./commands/types.ts";

/** The guest program a machine was booted with (what `reset` boots again). */
export interface GuestImage {
  /** Name shown in listings (file name, or the kernel's). */
  name: string;
  /** ELF bytes, for a bare-metal guest. */
  elf?: Uint8Array;
  /** Firmware, kernel, initrd and command line, for a QEMU-style boot. */
  firmware?: BootFiles & { names: { bios?: string; kernel?: string; initrd?: string } };
}

/** QEMU's `-bios`, `-kernel`, `-initrd`, `-append`, as options of `boot`, `run` and `snapshot`. */
export const FIRMWARE_OPTIONS: OptionDef[] = [
  {
    flags: "--bios <file>",
    description: "firmware loaded at 0x80000000 (QEMU's -bios)",
    type: fileType,
  },
  { flags: "--kernel <file>", description: "kernel Image or ELF (QEMU's -kernel)", type: fileType },
  { flags: "--initrd <file>", description: "initial ramdisk (QEMU's -initrd)", type: fileType },
  { flags: "--append <text>", description: "kernel command line (QEMU's -append)" },
];

/** Paths of a QEMU-style boot. */
export interface FirmwarePaths {
  /** Firmware file. */
  bios?: string;
  /** Kernel file. */
  kernel?: string;
  /** Initrd file. */
  initrd?: string;
  /** Kernel command line. */
  append?: string;
}

/** The firmware options given, or undefined when none was (an ELF or the demo guest boots). */
export function firmwarePaths(opts: OptionValues): FirmwarePaths | undefined {
  const p: FirmwarePaths = {
    bios: opts.bios as string | undefined,
    kernel: opts.kernel as string | undefined,
    initrd: opts.initrd as string | undefined,
    append: opts.append as string | undefined,
  };
  return Object.values(p).some((v) => v !== undefined) ? p : undefined;
}

/** The Linux guest's files (OpenSBI + kernel with its init), or a usage error naming the build. */
export function linuxPaths(append = LINUX_APPEND): FirmwarePaths {
  const a = linuxArtifacts();
  if (!a) throw new UsageError(linuxMissingReason());
  return { bios: a.bios, kernel: a.kernel, append };
}

/** Read the files of a QEMU-style boot into an image (a missing file is a typed error). */
export async function readFirmwareImage(paths: FirmwarePaths): Promise<GuestImage> {
  const files = await readBootFiles(paths);
  const name = (p?: string) => p?.slice(p.lastIndexOf("/") + 1);
  return { name: name(paths.kernel) ?? name(paths.bios) ?? "(no kernel)", firmware: files };
}

/** Load `image` into a fresh machine and reset the hart to its entry; the boot's layout, if any. */
export function bootImage(m: VirtMachine, image: GuestImage): BootInfo | undefined {
  if (image.firmware) {
    return bootVirt(m, { ...image.firmware, devices: virtDevices(m) });
  }
  if (!image.elf) throw new UsageError(`Nothing to boot in ${image.name}`);
  m.boot(image.elf);
  return undefined;
}

/** The guest a `boot`/`run`/`snapshot` names: `linux`, firmware options, an ELF, or the demo. */
export async function guestImageFor(
  word: string | undefined,
  opts: OptionValues,
): Promise<GuestImage> {
  const given = firmwarePaths(opts);
  if (word === "linux") {
    if (given?.bios || given?.kernel || given?.initrd) {
      throw new UsageError(
        "boot linux takes no --bios/--kernel/--initrd: it boots the built guest",
      );
    }
    return await readFirmwareImage(linuxPaths(given?.append));
  }
  if (given) {
    if (word !== undefined) {
      throw new UsageError(`Give an ELF or --bios/--kernel, not both ("${word}")`);
    }
    return await readFirmwareImage(given);
  }
  if (word !== undefined) {
    return { name: word.slice(word.lastIndexOf("/") + 1), elf: await readElf(word) };
  }
  return { name: "demo.elf", elf: await Deno.readFile(DEFAULT_GUEST) };
}
