/**
 * `--machine virt|qemu-virt` on the commands that make machines (`run ELF`, `snapshot`, `boot`,
 * `incoming`): which machine profile to build. `virt` is snapshell's own (with the NVMe-style
 * device); `qemu-virt` is QEMU 7.2's riscv32 virt section for section, so its streams resume in
 * QEMU and QEMU's resume here.
 * @module
 */
import { MACHINE_PROFILES, type MachineProfile, type VirtOptions } from "../../emu/virt.ts";
import { type ArgType, type OptionDef, type OptionValues, UsageError } from "./types.ts";

/** A machine profile name. */
export const machineProfileType: ArgType = {
  name: "machine",
  values: () => [...MACHINE_PROFILES],
  parse(word, what = "--machine") {
    if (!(MACHINE_PROFILES as readonly string[]).includes(word)) {
      throw new UsageError(`Invalid ${what} "${word}": use ${MACHINE_PROFILES.join(" or ")}`);
    }
    return word as MachineProfile;
  },
};

/** The `--machine` option; `auto` says what happens without it. */
export function machineOption(auto: string): OptionDef {
  return {
    flags: "--machine <profile>",
    description: `virt (snapshell's) or qemu-virt (QEMU 7.2's riscv32 virt); default: ${auto}`,
    type: machineProfileType,
  };
}

/**
 * The machine overrides `--machine` and `--ram` ask for (nothing when neither is given). A
 * `qemu-virt` that boots firmware (OpenSBI, Linux) mirrors QEMU's `-cpu` for them, rv32ima.
 */
export function machineOverrides(opts: OptionValues, firmware = false): VirtOptions {
  const out: VirtOptions = {};
  if (opts.machine !== undefined) out.profile = opts.machine as MachineProfile;
  if (opts.ram !== undefined) out.ramSize = opts.ram as number;
  if (firmware && out.profile === "qemu-virt") out.qemuCpu = "rv32ima";
  return out;
}
