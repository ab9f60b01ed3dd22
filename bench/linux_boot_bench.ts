/**
 * `deno task bench:linux`: instructions and wall time from reset to the Linux init's first output
 * (and to its prompt), in snapshell and in QEMU 7.2 with the same firmware, kernel, RAM and -cpu
 * line, side by side in one run. Needs `deno task guests:linux`; QEMU is skipped when missing.
 * Args: `[RUNS] [--interpret | --both]` (snapshell translating by default; `--both` adds an
 * interpreted boot to each run).
 * @module
 */
import { linuxArtifacts, linuxMissingReason } from "../emu/guests/linux/artifacts.ts";
import { LINUX_APPEND, QEMU_RV32, qemuLinuxArgs } from "../emu/guests/linux/qemu.ts";
import { bootVirtFiles } from "../emu/boot/boot.ts";
import { VirtMachine } from "../emu/virt.ts";

/** The init's first line, and its prompt. */
const FIRST_OUTPUT = "snapshell linux init";
const PROMPT = "snapshell# ";
const RAM_MIB = 128;
/** Cycles per run() call while watching the console (the check between calls is cheap). */
const SLICE = 100_000;

/** One side's figures. */
interface Figures {
  firstOutputMs: number;
  promptMs: number;
  firstOutputInsns?: number;
  promptInsns?: number;
}

async function snapshell(bios: string, kernel: string, translate: boolean): Promise<Figures> {
  const t0 = performance.now(); // from before the machine: its first one warms the CPU up
  const m = new VirtMachine({ ramSize: RAM_MIB * 1024 * 1024, translate });
  await bootVirtFiles(m, { bios, kernel, append: LINUX_APPEND });
  let first: { ms: number; insns: number } | undefined;
  while (!m.consoleText.endsWith(PROMPT)) {
    m.run(SLICE);
    if (!first && m.consoleText.includes(FIRST_OUTPUT)) {
      first = { ms: performance.now() - t0, insns: m.cpu.instret };
    }
  }
  return {
    firstOutputMs: first!.ms,
    firstOutputInsns: first!.insns,
    promptMs: performance.now() - t0,
    promptInsns: m.cpu.instret,
  };
}

async function qemu(bios: string, kernel: string): Promise<Figures | string> {
  const t0 = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(QEMU_RV32, {
      args: qemuLinuxArgs({ bios, kernel }, { ramMiB: RAM_MIB }),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (e) {
    return `${QEMU_RV32} not runnable: ${(e as Error).message}`;
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  let text = "";
  let firstMs: number | undefined;
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += dec.decode(chunk, { stream: true });
    if (firstMs === undefined && text.includes(FIRST_OUTPUT)) firstMs = performance.now() - t0;
    if (text.endsWith(PROMPT)) break;
  }
  const promptMs = performance.now() - t0;
  clearTimeout(timer);
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.status;
  if (firstMs === undefined) return `QEMU did not reach the init:\n${text}`;
  return { firstOutputMs: firstMs, promptMs };
}

const a = linuxArtifacts();
if (a === null) {
  console.error(linuxMissingReason());
  Deno.exit(1);
}
const runs = Number(Deno.args.find((x) => /^\d+$/.test(x)) ?? 3);
const fmt = (n?: number) => n === undefined ? "-" : n.toLocaleString("en-US");
const ms = (n: number) => `${(n / 1000).toFixed(3)} s`;
/** `--interpret`: snapshell's interpreter only; `--both`: translating, then interpreting. */
const modes = Deno.args.includes("--interpret")
  ? [false]
  : Deno.args.includes("--both")
  ? [true, false]
  : [true];
console.log(
  `Linux boot, ${RAM_MIB} MiB, ${runs} runs each (snapshell, then QEMU 7.2, alternating)`,
);
console.log("emulator   run  to init output (insns, wall)      to prompt (insns, wall)");
for (let i = 1; i <= runs; i++) {
  for (const translate of modes) {
    const s = await snapshell(a.bios, a.kernel, translate);
    console.log(
      `${translate ? "snapshell" : "interp   "}  ${i}    ${fmt(s.firstOutputInsns)}, ` +
        `${ms(s.firstOutputMs)}    ${fmt(s.promptInsns)}, ${ms(s.promptMs)}`,
    );
  }
  const q = await qemu(a.bios, a.kernel);
  if (typeof q === "string") console.log(`qemu       ${i}    ${q}`);
  else console.log(`qemu       ${i}    -, ${ms(q.firstOutputMs)}    -, ${ms(q.promptMs)}`);
}
