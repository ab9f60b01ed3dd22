/**
 * The QEMU 7.2 command line that boots the Linux guest on the reference emulator (an rv32ima hart
 * like snapshell's: QEMU's default rv32 CPU would also enable H, Sstc, Zihintpause and Zb*).
 * @module
 */
import type { LinuxArtifacts } from "./artifacts.ts";

/** The reference emulator's binary (Debian package qemu-system-misc). */
export const QEMU_RV32 = "qemu-system-riscv32";

/** `-cpu` for QEMU 7.2 matching snapshell's hart (rv32ima, no compressed/float/H/Sstc/Zb*). */
export const QEMU_RV32IMA_CPU =
  "rv32,f=off,d=off,c=off,h=off,sstc=off,Zihintpause=off,zba=off,zbb=off,zbc=off,zbs=off";

/** Default kernel command line (the kernel also has it built in). */
export const LINUX_APPEND = "console=ttyS0 earlycon";

/** Arguments of `qemu-system-riscv32` that boot the guest with the console on stdio. */
export function qemuLinuxArgs(
  a: Pick<LinuxArtifacts, "bios" | "kernel">,
  opts: { ramMiB?: number; append?: string } = {},
): string[] {
  return [
    "-M",
    "virt",
    "-cpu",
    QEMU_RV32IMA_CPU,
    "-m",
    `${opts.ramMiB ?? 128}M`,
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-bios",
    a.bios,
    "-kernel",
    a.kernel,
    "-append",
    opts.append ?? LINUX_APPEND,
  ];
}

/** Why QEMU 7.2 cannot be run here, naming the package that provides it; null when it can. */
export async function qemuMissingReason(): Promise<string | null> {
  try {
    const out = await new Deno.Command(QEMU_RV32, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) return null;
  } catch { /* not installed */ }
  return `${QEMU_RV32} missing (apt-get install qemu-system-misc)`;
}
