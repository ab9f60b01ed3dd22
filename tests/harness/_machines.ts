import { DEFAULT_GUEST, VirtMachine } from "../../emu/virt.ts";

const DEMO = Deno.readFileSync(DEFAULT_GUEST);

/** The demo guest on a 16 MiB machine, booted and run for `cycles`. */
export function demoMachine(cycles = 0): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(DEMO);
  if (cycles) m.run(cycles);
  return m;
}

/** A fresh machine for loading a 16 MiB demo snapshot. */
export function freshMachine(ramSize: number | undefined = 16 << 20): VirtMachine {
  return new VirtMachine({ ramSize });
}
