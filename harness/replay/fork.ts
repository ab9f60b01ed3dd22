/**
 * Forking a machine without going through a stream: a fresh machine of the same shape receives
 * a structured copy of every section's live record (through the section's own `commit`, which
 * re-derives wiring such as IRQ levels and deadlines), the hart's state and RAM. Unlike a
 * save/load round trip this keeps state a description forgets, which is what replay compares
 * against. Non-migrated wiring outside the records (an ELF's HTIF `tohost` symbol) is not
 * copied, exactly as a snapshot does not carry it.
 * @module
 */
import { CPU_STATE_FIELDS, type CpuState } from "../../emu/cpu/state.ts";
import { VirtMachine, type VirtOptions } from "../../emu/virt.ts";

/** Builds a machine of the same build as the one being replayed (tests swap descriptions). */
export type MachineFactory = (opts: VirtOptions) => VirtMachine;

/** The default factory: a plain virt machine. */
export const plainMachine: MachineFactory = (opts) => new VirtMachine(opts);

/** A copy of `m` that runs exactly as `m` would from here. */
export function forkMachine(m: VirtMachine, make: MachineFactory = plainMachine): VirtMachine {
  const f = make({ ramSize: m.ram.size, disk: new Uint8Array(m.nvme.disk.length) });
  f.ram.write(f.ram.base, m.ram.u8);
  const theirs = f.registry.entries;
  f.registry.commit(
    m.registry.entries.flatMap((e, i) =>
      e.state && theirs[i].commit ? [{ entry: theirs[i], staged: structuredClone(e.state()) }] : []
    ),
  );
  copyCpuState(m.cpu.state, f.cpu.state);
  f.consoleText = m.consoleText;
  f.exitCode = m.exitCode;
  return f;
}

/** Copy every field of a hart's state (typed arrays element-wise). */
export function copyCpuState(from: CpuState, to: CpuState): void {
  const src = from as unknown as Record<string, unknown>;
  const dst = to as unknown as Record<string, unknown>;
  for (const k of CPU_STATE_FIELDS) {
    const v = src[k];
    if (ArrayBuffer.isView(v)) (dst[k] as Uint8Array).set(v as Uint8Array);
    else dst[k] = v;
  }
}
