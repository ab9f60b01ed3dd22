/**
 * Machine builds for the replay tests: the demo guest's snapshot, and "broken builds" whose
 * serial description has the kind of mistake replay exists to catch (a field left out, a
 * subsection whose needed() is wrong). Both sides of a replay use the same build, as in life.
 */
import { vmstateSerial, vmstateUart16550 } from "../../../emu/devices/uart16550.ts";
import { DEFAULT_GUEST, VirtMachine, type VirtOptions } from "../../../emu/virt.ts";
import type { MachineFactory } from "../../../harness/replay/fork.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import { struct, vmsd } from "../../../migration/vmstate/fields.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

/** A build whose `serial` section uses `serial` (the inner description) as given. */
export function serialBuild(inner: VmStateDescription): MachineFactory {
  const outer = vmsd({ ...vmstateUart16550, fields: [struct("serial", inner)] });
  return (opts: VirtOptions) => {
    const m = new VirtMachine(opts);
    // Test-only: swap the registered description, as a build with this description would have.
    (m.registry.find("serial", 0) as { vmsd: VmStateDescription }).vmsd = outer;
    return m;
  };
}

/** The serial description without one field. */
export function withoutField(name: string): MachineFactory {
  return serialBuild(
    vmsd<StateRecord>({
      ...vmstateSerial,
      fields: vmstateSerial.fields.filter((f) => f.name !== name),
    }),
  );
}

/** The serial description with one subsection never sent. */
export function neverSent(subsection: string): MachineFactory {
  const subsections = vmstateSerial.subsections!.map((s) =>
    s.name === subsection ? vmsd<StateRecord>({ ...s, needed: () => false }) : s
  );
  return serialBuild(vmsd<StateRecord>({ ...vmstateSerial, subsections }));
}

/** Boot `guest` on a 16 MiB machine of `make`'s build and run `insns`. */
export async function booted(
  insns: number,
  make: MachineFactory = (o) => new VirtMachine(o),
  guest: URL = DEFAULT_GUEST,
): Promise<VirtMachine> {
  const m = make({ ramSize: 16 << 20 });
  m.boot(await Deno.readFile(guest));
  m.run(insns);
  return m;
}

/** The machine's snapshot bytes. */
export async function snapshotOf(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

/** The uart-echo guest. */
export const UART_ECHO = new URL("../../../emu/guests/build/uart-echo.elf", import.meta.url);
