/**
 * Running guests: `run` (N cycles, `until TEXT`, `for TIME`, in the background until `stop`, or
 * an ELF to its exit as the one-shot CLI does), `stop` and `step`. Runs go in slices on the event
 * loop, so Ctrl-C and `stop` take effect at the next slice.
 * @module
 */
import type { VirtMachine } from "../../emu/virt.ts";
import {
  cyclesForNs,
  type RunGoal,
  runInstructions,
  type RunOutcome,
} from "../../harness/run/guest_runner.ts";
import {
  describeOutcome,
  EXIT_BUDGET,
  EXIT_INTERRUPTED,
  ranFor,
  whereNow,
} from "../machine_text.ts";
import { FIRMWARE_OPTIONS, firmwarePaths, type GuestImage, guestImageFor } from "../guest_boot.ts";
import type { ShellContext } from "../session.ts";
import { countType, fileType, positiveCountType, sizeType, startingWith } from "./arg_types.ts";
import { formatNs, parseCount, parseDuration } from "./sizes.ts";
import { machineOption, machineOverrides } from "./machine_commands_profile.ts";
import {
  type ArgType,
  type ArgValues,
  type CommandDef,
  type OptionValues,
  UsageError,
} from "./types.ts";

/** Default budget of `run ELF`, in cycles. */
const ELF_MAX_CYCLES = 2_000_000_000;

/** Default limit of `run until`. */
const UNTIL_MAX_CYCLES = 1_000_000_000;

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
  what: { reached: string; missed?: string };
}

function planSessionRun(
  m: VirtMachine,
  words: string[],
  opts: OptionValues,
): SessionRunPlan | undefined {
  const [first, ...rest] = words;
  const max = (opts.maxCycles as number | undefined) ?? UNTIL_MAX_CYCLES;
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
      what: { reached: `"${text}" appeared`, missed: `"${text}" did not appear` },
    };
  }
  if (first === "for") {
    if (rest.length !== 1) throw new UsageError("run for needs one TIME: run for 500ms");
    const ns = parseDuration(rest[0], "time");
    return {
      goal: { kind: "cycles", count: cyclesForNs(ns) },
      what: { reached: `ran for ${formatNs(ns)} of virtual time: {ran}` },
    };
  }
  if (isCount(first)) {
    if (rest.length) throw new UsageError(`Unexpected "${rest.join(" ")}" after the count`);
    return {
      goal: { kind: "cycles", count: parseCount(first, "count") },
      what: { reached: "ran {ran}" },
    };
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

async function runGuest(ctx: ShellContext, image: GuestImage, opts: OptionValues): Promise<number> {
  const s = ctx.session;
  s.requireStopped("run an ELF");
  const max = (opts.maxCycles as number | undefined) ?? ELF_MAX_CYCLES;
  const m = s.boot(image, {
    ...machineOverrides(opts, !!image.firmware),
    ...(opts.interpret ? { translate: false } : opts.translate ? { translate: true } : {}),
  });
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
      insns: o.insns,
      cycles: o.cycles,
      seconds,
      mips: seconds > 0 ? o.insns / seconds / 1e6 : 0,
    }));
  }
  if (o.end === "exit") {
    if (ctx.interactive) ctx.io.out(describeOutcome(m, o, "").line);
    return o.exitCode ?? 0;
  }
  if (o.end === "idle") {
    ctx.io.err(
      `run: the guest is waiting for an interrupt that can never come (after ${ranFor(o)})`,
    );
    return EXIT_BUDGET;
  }
  if (o.end === "interrupted") {
    ctx.io.err(`run: interrupted after ${ranFor(o)}`);
    return EXIT_INTERRUPTED;
  }
  ctx.io.err(`run: stopped at the --max-cycles limit after ${ranFor(o)} without the guest exiting`);
  return EXIT_BUDGET;
}

/** `run`: run the session's machine, or an ELF to its exit (the one-shot CLI form). */
export const runCommand: CommandDef<ShellContext> = {
  name: "run",
  summary: "Run the machine (N cycles, until TEXT, for TIME of virtual time, or in the " +
    "background), or an ELF",
  args: [{
    name: "what",
    optional: true,
    variadic: true,
    description: "N (cycles: 10 ns of virtual time each) | until TEXT | for TIME | ELF; " +
      "nothing: in the background until stop",
    type: runTargetType,
  }],
  options: [
    {
      flags: "--max-cycles <n>",
      description: "limit in cycles: an ELF run stops there with exit 124 (default 2e9); run " +
        "until gives up there (default 1e9)",
      type: countType,
    },
    { flags: "--ram <size>", description: "guest RAM of an ELF run, e.g. 128M", type: sizeType },
    ...FIRMWARE_OPTIONS,
    machineOption("virt"),
    {
      flags: "--stats",
      description: 'ELF run: print {"insns","cycles","seconds","mips"} as JSON on stderr ' +
        "(insns: instructions retired)",
    },
    { flags: "--background", description: "shell only: run N, until or for behind the prompt" },
    {
      flags: "--translate",
      description: "translate hot guest code to JavaScript (identical results; faster on hot " +
        "loops); for the session's machine it stays so",
    },
    {
      flags: "--interpret",
      description: "interpret every instruction (the reference CPU; the default); for the " +
        "session's machine it stays so",
    },
    {
      flags: "--fast",
      description: "background runs: do not pace virtual time to the wall clock",
    },
    {
      flags: "--force",
      description: "run a guest that migrated away (postmigrate): a second copy of it",
    },
  ],
  examples: [
    "run 1000000          # one million cycles (10 ms of virtual time; idle cycles in WFI count)",
    'run until "heartbeat 1"',
    "run for 500ms        # virtual time",
    "run                  # in the background; stop or Ctrl-C pauses it",
    "run emu/guests/build/hello.elf   # boot an ELF, run it to its exit, exit with its status",
    "run --bios fw_dynamic.bin --kernel Image --max-cycles 1e8   # QEMU-style boot, bounded",
  ],
  async run(ctx, args, opts) {
    const words = args as string[];
    const s = ctx.session;
    const plan = planSessionRun(s.machine, words, opts);
    if (!plan && words.length > 0) {
      if (words.length > 1) {
        throw new UsageError(`Unexpected "${words.slice(1).join(" ")}" after the ELF path`);
      }
      return await runGuest(ctx, await guestImageFor(words[0], opts), opts);
    }
    if (!plan && firmwarePaths(opts)) {
      return await runGuest(ctx, await guestImageFor(undefined, opts), opts);
    }
    s.requireRunnable(!!opts.force);
    if (opts.interpret || opts.translate) s.machine.cpu.setTranslate(!opts.interpret);
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

/** `step [N]`: retire N instructions (default 1) and show where the hart is. */
export const stepCommand: CommandDef<ShellContext> = {
  name: "step",
  summary: "Retire N instructions (default 1) and show the next one",
  args: [{
    name: "n",
    optional: true,
    description: "instructions to retire (default 1); cycles idle in WFI pass meanwhile",
    type: positiveCountType,
  }],
  options: [{
    flags: "--force",
    description: "step a guest that migrated away (postmigrate)",
  }],
  run(ctx, args: ArgValues, opts) {
    const s = ctx.session;
    s.requireStopped("step");
    s.requireRunnable(!!opts.force);
    const n = (args[0] as number | undefined) ?? 1;
    const m = s.machine;
    const from = m.cpu.state.pc >>> 0;
    const r = runInstructions(m, n);
    const pc = m.cpu.state.pc >>> 0;
    const word = m.ram.contains(pc, 4) ? m.ram.u32[(pc - m.ram.base) >>> 2] : undefined;
    const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;
    ctx.io.out(
      `${hex(from)} -> ${hex(pc)} after ${r.insns} instruction${r.insns === 1 ? "" : "s"} ` +
        `retired (${r.cycles} cycle${r.cycles === 1 ? "" : "s"})` +
        (word !== undefined ? `; next instruction ${hex(word)}` : "") +
        (r.stop === "exit" ? `; guest exited with status ${m.exitCode}` : "") +
        (r.stop === "idle"
          ? "; the hart waits in WFI for an interrupt that nothing will raise"
          : ""),
    );
    return Promise.resolve(0);
  },
};
