/**
 * Reads a stream's hart counters without loading it, so `import` can record the instructions
 * retired and the virtual time of the machine it holds: snapshell's `cpu/snapshell-counters`
 * subsection carries minstret and mcycle (virtual time is mcycle at the 100 MHz hart). Streams
 * without it (QEMU's, damaged ones, several harts) leave both unknown.
 * @module
 */
import { NS_PER_INSN } from "../../emu/machine.ts";
import { inspectFile } from "../../migration/inspect/mod.ts";
import type { DecodedStruct } from "../../migration/inspect/model.ts";

/** Instructions retired and virtual time recorded in a stream, when it carries them. */
export interface StreamClock {
  insns: number;
  virtualNs: bigint;
}

/** The subsection holding minstret and mcycle (emu/cpu/vmstate.ts `vmstateCpuCounters`). */
const COUNTERS = "cpu/snapshell-counters";

/** The hart counters in the stream file at `path`, or null when it does not carry them. */
export async function probeStreamClock(path: string): Promise<StreamClock | null> {
  const result = await inspectFile(path);
  const cpus = [...result.sections.values()].filter((s) => s.idstr === "cpu");
  if (cpus.length !== 1 || !cpus[0].vmsd) return null;
  const sub = cpus[0].vmsd.subsections.find((s) => s.name === COUNTERS);
  if (!sub) return null;
  const minstret = counter(sub.value, "minstret");
  const mcycle = counter(sub.value, "mcycle");
  if (minstret === undefined || mcycle === undefined) return null;
  if (minstret > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { insns: Number(minstret), virtualNs: mcycle * NS_PER_INSN };
}

function counter(st: DecodedStruct, name: string): bigint | undefined {
  const f = st.fields.find((x) => x.name === name);
  if (!f || f.value.kind !== "int") return undefined;
  return f.value.unsigned;
}
