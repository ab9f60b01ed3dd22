/**
 * How the shell words a machine's state, shared by the commands that show it: where the hart is
 * (pc, instructions retired, virtual time), how a run ended, registers by name, and the exit
 * statuses runs mean for scripts.
 * @module
 */
import { ElfError } from "../emu/errors.ts";
import type { VirtMachine } from "../emu/virt.ts";
import type { RunOutcome } from "../harness/run/guest_runner.ts";
import { formatNs } from "./commands/sizes.ts";
import type { ShellContext } from "./session.ts";

/** Exit status when `run ELF` used up its instruction budget before the guest exited. */
export const EXIT_BUDGET = 124;

/** Exit status of a run stopped by Ctrl-C or `stop` (as a shell reports SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Read a guest ELF, turning file errors into an ElfError that names the file. */
export async function readElf(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new ElfError("unreadable", `Cannot read ELF "${path}": ${(e as Error).message}`);
  }
}

/** Where the machine is: pc, instructions retired since reset, virtual time. */
export function whereNow(m: VirtMachine): string {
  return `pc 0x${(m.cpu.state.pc >>> 0).toString(16).padStart(8, "0")}, ` +
    `${m.cpu.instret} instructions retired, virtual time ${formatNs(m.nowNs())}`;
}

/** What a run did, each figure named: `20000000 cycles (1234 instructions retired)`. */
export function ranFor(o: { cycles: number; insns: number }): string {
  return `${o.cycles} cycle${o.cycles === 1 ? "" : "s"} (${o.insns} instruction${
    o.insns === 1 ? "" : "s"
  } retired)`;
}

/**
 * One line saying how a run ended, and the exit status it means for a script. `what` names the
 * goal: `reached` says it was met (`"login:" appeared`; `{ran}` in it stands for the figures,
 * else they follow "after"), `missed` that it was not.
 */
export function describeOutcome(
  m: VirtMachine,
  o: RunOutcome,
  what: { reached: string; missed?: string } | string,
): { line: string; code: number; error: boolean } {
  const at = whereNow(m);
  const goal = typeof what === "string" ? { reached: what } : what;
  const ran = ranFor(o);
  switch (o.end) {
    case "done":
      return {
        line: `${
          goal.reached.includes("{ran}")
            ? goal.reached.replace("{ran}", ran)
            : `${goal.reached} after ${ran}`
        }; now ${at}`,
        code: 0,
        error: false,
      };
    case "exit":
      return {
        line: `guest exited with status ${o.exitCode} after ${ran}; now ${at}`,
        code: 0,
        error: false,
      };
    case "idle":
      return {
        line: `guest is idle, waiting for input, after ${ran}; now ${at}`,
        code: 0,
        error: false,
      };
    case "interrupted":
      return { line: `stopped after ${ran}; now ${at}`, code: EXIT_INTERRUPTED, error: false };
    case "limit":
      return {
        line: `${goal.missed ?? `${goal.reached}: not reached`}: gave up after ${ran}; now ${at}`,
        code: 1,
        error: true,
      };
  }
}

/** ABI names of x0..x31. */
export const ABI_NAMES = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
]; // deno-fmt-ignore

/** CSRs shown by `regs` and readable by `expect reg`. */
export const SHOWN_CSRS = [
  "mstatus", "misa", "mie", "mip", "mtvec", "mscratch", "mepc", "mcause", "mtval", "satp",
] as const; // deno-fmt-ignore

/** Value of a register by name: pc, priv, x0..x31, ABI names (fp = s0), the shown CSRs. */
export function readRegister(ctx: ShellContext, name: string): number | undefined {
  const s = ctx.session.machine.cpu.state;
  const n = name.toLowerCase();
  if (n === "pc") return s.pc >>> 0;
  if (n === "priv") return s.priv;
  const x = /^x(\d+)$/.exec(n);
  if (x && Number(x[1]) < 32) return s.x[Number(x[1])] >>> 0;
  const abi = ABI_NAMES.indexOf(n === "fp" ? "s0" : n);
  if (abi >= 0) return s.x[abi] >>> 0;
  if ((SHOWN_CSRS as readonly string[]).includes(n)) {
    return (s as unknown as Record<string, number>)[n] >>> 0;
  }
  return undefined;
}

/** Every register name `readRegister` knows (completion). */
export function registerNames(): string[] {
  return [
    "pc",
    "priv",
    ...ABI_NAMES,
    ...Array.from({ length: 32 }, (_, i) => `x${i}`),
    ...SHOWN_CSRS,
  ];
}
