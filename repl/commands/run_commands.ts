/**
 * Running guests: `run` (N cycles, `until TEXT`, `for TIME`, in the background until `stop`, or
 * an ELF to its exit as the one-shot CLI does), `stop` and `step`. Runs go in slices on the event
 * loop, so Ctrl-C and `stop` take effect at the next slice.
 * @module
 */
import { ElfError } from "../../emu/errors.ts";
import type { VirtMachine } from "../../emu/virt.ts";
import { cyclesForNs, type RunGoal, type RunOutcome } from "../../harness/run/guest_runner.ts";
import type { ShellContext } from "../session.ts";
import { countType, fileType, sizeType, startingWith } from "./arg_types.ts";
import { formatNs, parseCount, parseDuration, parseSize } from "./sizes.ts";
import { type ArgType, type CommandDef, UsageError } from "./types.ts";

/** Exit status when `run ELF` used up its instruction budget before the guest exited. */
export const EXIT_BUDGET = 124;

/** Exit status of a run stopped by Ctrl-C or `stop` (as a shell reports SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Default budget of `run ELF`. */
const ELF_MAX_INSNS = 2_000_000_000;

/** Default limit of `run until`. */
const UNTIL_MAX_CYCLES = 1_000_000_000;

/** Read a guest ELF, turning file errors into an ElfError that names the file. */
export async function readElf(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new ElfError("unreadable", `Cannot read ELF "${path}": ${(e as Error).message}`);
  }
}

/** Where the machine is: pc and virtual time. */
export function whereNow(m: VirtMachine): string {
  return `pc 0x${(m.cpu.state.pc >>> 0).toString(16).padStart(8, "0")}, ` +
    `virtual time ${formatNs(m.nowNs())}, ${m.cpu.instret} instructions retired`;
}

/** One line saying how a run ended, and the exit status it means for a script. */
export function describeOutcome(
  m: VirtMachine,
  o: RunOutcome,
  what: string,
): { line: string; code: number; error: boolean } {
  const at = whereNow(m);
  switch (o.end) {
    case "done":
      return { line: `${what} after ${o.cycles} cycles: ${at}`, code: 0, error: false };
    case "exit":
      return {
        line: `guest exited with status ${o.exitCode} after ${o.cycles} cycles: ${at}`,
        code: 0,
        error: false,
      };
    case "idle":
      return {
        line: `guest is idle, waiting for input (after ${o.cycles} cycles): ${at}`,
        code: 0,
        error: false,
      };
    case "interrupted":
      return {
        line: `stopped after ${o.cycles} cycles: ${at}`,
        code: EXIT_INTERRUPTED,
        error: false,
      };
    case "limit":
      return { line: `${what} (gave up after ${o.cycles} cycles): ${at}`, code: 1, error: true };
  }
}

/** The first word of `run`: a keyword, a count or an ELF file. */
const runTargetType: ArgType<ShellContext> = {
  name: "what",
  async complete(ctx, partial, previous) {
    if (previous.length > 0) return [];
    const files = await fileType.complete!(ctx, partial, previous);
    return [...startingWith(["until", "for"], partial), ...files];
  },
};

function isCount(word: string): boolean {
  try {
    parseCount(word);
    return true;
  } catch {
    return false;
  }
}

interface SessionRunPlan {
  goal: RunGoal;
  what: string;
}

function planSessionRun(
  m: VirtMachine,
  words: string[],
  opts: Record<string, unknown>,
): SessionRunPlan | undefined {
  const [first, ...rest] = words;
  const max = opts.maxInsns !== undefined
    ? parseCount(String(opts.maxInsns), "--max-insns")
    : UNTIL_MAX_CYCLES;
  if (first === undefined) return undefined;
  if (first === "until") {
    if (rest.length !== 1) throw new UsageError('run until needs one TEXT: run until "login:"');
    const text = rest[0];
    const from = m.consoleText.length;
    return {
      goal: {
        kind: "until",
        test: () => m.consoleText.indexOf(text, Math.max(0, from - text.length + 1)) >= 0,
        maxCycles: max,
      },
      what: `"${text}" ${"appeared"}`,
    };
  }
  if (first === "for") {
    if (rest.length !== 1) throw new UsageError("run for needs one TIME: run for 500ms");
    const ns = parseDuration(rest[0], "time");
    return { goal: { kind: "cycles", count: cyclesForNs(ns) }, what: `ran for ${formatNs(ns)}` };
  }
  if (isCount(first)) {
    if (rest.length) throw new UsageError(`Unexpected "${rest.join(" ")}" after the count`);
    const n = parseCount(first, "count");
    return { goal: { kind: "cycles", count: n }, what: `ran ${n} cycles` };
  }
  return undefined;
}

/** Collects console bytes into lines for a raw writer (one write per line, not per byte). */
function lineWriter(raw: (b: Uint8Array) => void): { put(b: number): void; flush(): void } {
  let buf: number[] = [];
  const flush = () => {
    if (buf.length) raw(new Uint8Array(buf));
    buf = [];
  };
  return {
    put(b) {
      buf.push(b);
      if (b === 10 || buf.length >= 4096) flush();
    },
    flush,
  };
}

async function runElf(
  ctx: ShellContext,
  path: string,
  opts: Record<string, unknown>,
): Promise<number> {
  const s = ctx.session;
  s.requireStopped("run an ELF");
  const max = opts.maxInsns !== undefined
    ? parseCount(String(opts.maxInsns), "--max-insns")
    : ELF_MAX_INSNS;
  const ramSize = opts.ram !== undefined ? parseSize(String(opts.ram), "RAM size") : undefined;
  const elf = await readElf(path);
  const m = s.freshMachine(ramSize ? { ramSize } : {});
  m.boot(elf);
  s.install(m, { name: path.slice(path.lastIndexOf("/") + 1), elf });
  const previousEcho = s.echo;
  const out = lineWriter(ctx.io.raw ?? ((b) => Deno.stdout.writeSync(b)));
  if (!previousEcho) s.echo = (b) => out.put(b);
  const t0 = performance.now();
  let o: RunOutcome;
  try {
    o = await s.startRun({ kind: "cycles", count: max }, false).run.done;
  } finally {
    out.flush();
    s.echo = previousEcho;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (opts.stats) {
    ctx.io.err(JSON.stringify({
      insns: o.cycles,
      seconds,
      mips: seconds > 0 ? o.cycles / seconds / 1e6 : 0,
    }));
  }
  if (o.end === "exit") {
    if (ctx.interactive) ctx.io.out(describeOutcome(m, o, "").line);
    return o.exitCode ?? 0;
  }
  if (o.end === "idle") {
    ctx.io.err(
      `run: the guest is waiting for an interrupt that can never come (after ${o.cycles} instructions)`,
    );
    return EXIT_BUDGET;
  }
  if (o.end === "interrupted") {
    ctx.io.err(`run: interrupted after ${o.cycles} instructions`);
    return EXIT_INTERRUPTED;
  }
  ctx.io.err(`run: stopped after ${o.cycles} instructions without the guest exiting`);
  return EXIT_BUDGET;
}

/** `run`: run the session's machine, or an ELF to its exit (the one-shot CLI form). */
export const runCommand: CommandDef<ShellContext> = {
  name: "run",
  summary: "Run the machine (N cycles, until TEXT, for TIME, or in the background), or an ELF",
  args: [{
    name: "what",
    optional: true,
    variadic: true,
    description: "N | until TEXT | for TIME | ELF; nothing: in the background until stop",
    type: runTargetType,
  }],
  options: [
    {
      flags: "--max-insns <n>",
      description: "limit: an ELF run stops there with exit 124 (default 2e9); run until gives " +
        "up there (default 1e9)",
      type: countType,
    },
    { flags: "--ram <size>", description: "guest RAM of an ELF run, e.g. 128M", type: sizeType },
    {
      flags: "--stats",
      description: 'ELF run: print {"insns","seconds","mips"} as JSON on stderr',
    },
    { flags: "--background", description: "shell only: run N, until or for behind the prompt" },
    {
      flags: "--fast",
      description: "background runs: do not pace virtual time to the wall clock",
    },
  ],
  examples: [
    "run 1000000          # one million cycles (instructions plus idle time), then pause",
    'run until "heartbeat 1"',
    "run for 500ms        # virtual time",
    "run                  # in the background; stop or Ctrl-C pauses it",
    "run emu/guests/build/hello.elf   # boot an ELF, run it to its exit, exit with its status",
  ],
  async run(ctx, words, opts) {
    const s = ctx.session;
    const plan = planSessionRun(s.machine, words, opts);
    if (!plan && words.length > 0) {
      if (words.length > 1) {
        throw new UsageError(`Unexpected "${words.slice(1).join(" ")}" after the ELF path`);
      }
      return await runElf(ctx, words[0], opts);
    }
    const background = !plan || !!opts.background;
    if (background && !ctx.interactive) {
      throw new UsageError(
        "run without a bound (or with --background) needs the interactive shell: " +
          "use run N, run until TEXT or run for TIME",
      );
    }
    if (!plan) {
      s.startRun({ kind: "forever" }, true, !opts.fast);
      ctx.io.out("running in the background: stop (or Ctrl-C) pauses it");
      return 0;
    }
    const active = s.startRun(plan.goal, background, background && !opts.fast);
    if (background) {
      ctx.io.out("running in the background: stop (or Ctrl-C) pauses it");
      return 0;
    }
    const o = await active.run.done;
    const d = describeOutcome(s.machine, o, plan.what);
    if (d.error) ctx.io.err(d.line);
    else ctx.io.out(d.line);
    return d.code;
  },
};

/** `stop`: pause a guest running in the background. */
export const stopCommand: CommandDef<ShellContext> = {
  name: "stop",
  summary: "Pause the guest running in the background",
  async run(ctx) {
    const m = ctx.session.machine;
    const o = await ctx.session.stopRun();
    if (!o) {
      ctx.io.out(`the guest is not running: ${whereNow(m)}`);
      return 0;
    }
    ctx.io.out(describeOutcome(m, o, "stopped").line);
    return 0;
  },
};

/** `step [N]`: execute N instructions (default 1) and show where the hart is. */
export const stepCommand: CommandDef<ShellContext> = {
  name: "step",
  summary: "Execute N instructions (default 1) and show the next one",
  args: [{ name: "n", optional: true, description: "instructions (default 1)", type: countType }],
  run(ctx, args) {
    const s = ctx.session;
    s.requireStopped("step");
    const n = args[0] === undefined ? 1 : parseCount(args[0], "count");
    const m = s.machine;
    const from = m.cpu.state.pc >>> 0;
    const r = m.run(n);
    const pc = m.cpu.state.pc >>> 0;
    const word = m.ram.contains(pc, 4) ? m.ram.u32[(pc - m.ram.base) >>> 2] : undefined;
    const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;
    ctx.io.out(
      `${hex(from)} -> ${hex(pc)} after ${r.insns} cycle${r.insns === 1 ? "" : "s"}` +
        (word !== undefined ? `; next instruction ${hex(word)}` : "") +
        (r.stop === "exit" ? `; guest exited with status ${r.exitCode}` : ""),
    );
    return Promise.resolve(0);
  },
};
