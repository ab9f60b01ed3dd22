/**
 * File-level machine commands: `snapshot OUT` (boot, run, write a snapshot file) and `check FILE`
 * (does a stream load into a fresh machine?). They call the emulator's libraries and print; all
 * behaviour lives below them. (`run` is in run_commands.ts.)
 * @module
 */
import { MigrationError } from "../../migration/errors.ts";
import { loadMachineFile, saveMachineFile, snapshotRamSize } from "../../emu/snapshot_file.ts";
import { qemuVirtOptionsForFile, VirtMachine } from "../../emu/virt.ts";
import {
  isForeignQemuStream,
  qemuStreamBlockers,
  renderBlockers,
  type StreamBlocker,
} from "../../emu/qemu_stream_fit.ts";
import { runInstructions } from "../../harness/run/guest_runner.ts";
import { bootImage, FIRMWARE_OPTIONS, guestImageFor } from "../guest_boot.ts";
import { countType, fileType, sizeType } from "./arg_types.ts";
import { machineOption, machineOverrides } from "./machine_commands_profile.ts";
import { qemuArgv, qemuRunOptions, runOneQemu, targetOption } from "./qemu_target.ts";
import { type ArgType, type CommandContext, type CommandDef, UsageError } from "./types.ts";

/** Fill RAM with a reproducible pseudo-random pattern (xorshift32 from `seed`). */
export function fillRandom(words: Uint32Array, seed: number): void {
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

/** `--fill random[:SEED]`: the seed (1 by default). */
const fillType: ArgType = {
  name: "random[:SEED]",
  parse(word) {
    const fm = /^random(?::(\d+))?$/.exec(word);
    if (!fm) throw new UsageError(`Invalid --fill "${word}": use random or random:SEED`);
    return Number(fm[1] ?? 1);
  },
};

/** `snapshot OUT`: boot, run N instructions, write a snapshot file. */
export const snapshotCommand: CommandDef = {
  name: "snapshot",
  summary: "Boot a guest (the demo by default), retire N instructions, write a snapshot",
  args: [{ name: "out", description: "snapshot file to write (atomically)", type: fileType }],
  options: [
    {
      flags: "--boot <elf>",
      description: "guest ELF, or linux (default: the embedded demo guest)",
      type: fileType,
    },
    ...FIRMWARE_OPTIONS,
    machineOption("virt"),
    {
      flags: "--insns <n>",
      description: "instructions to retire before saving (cycles idle in WFI pass meanwhile)",
      default: "1000000",
      type: countType,
    },
    {
      flags: "--ram <size>",
      description: "guest RAM size, e.g. 128M",
      default: "128M",
      type: sizeType,
    },
    {
      flags: "--fill <spec>",
      description: "fill RAM before booting: random[:SEED]",
      type: fillType,
    },
    {
      flags: "--stats",
      description: 'print {"bytes","seconds","mbPerSecond","peakRssBytes"} on stderr',
    },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const out = args[0] as string;
    const insns = opts.insns as number;
    const image = await guestImageFor(opts.boot as string | undefined, opts);
    const m = new VirtMachine(machineOverrides(opts, !!image.firmware));
    if (opts.fill !== undefined) {
      fillRandom(m.ram.u32, opts.fill as number);
      m.ram.markAllDirty(); // written behind the store paths: declare it, or saves skip it
    }
    bootImage(m, image);
    const ran = runInstructions(m, insns);
    // ctx.progress, not progressOf(): this module is light enough for benchmarks to import.
    const bar = ctx.progress?.(`snapshot ${out}`, m.ram.size);
    let st;
    try {
      st = await saveMachineFile(m, out, bar && ((bytes) => bar.update(bytes)));
    } finally {
      bar?.done();
    }
    if (opts.stats) ctx.io.err(JSON.stringify(st));
    ctx.io.out(
      `snapshot: ${out}: ${st.bytes} bytes after ${m.cpu.instret} instructions retired ` +
        `(${ran.cycles} cycles)${
          ran.stop === "exit"
            ? `: the guest exited (status ${m.exitCode}) first`
            : ran.stop === "idle"
            ? ": the guest went idle for good first"
            : ran.stop === "stuck"
            ? ": the hart traps again and again without retiring"
            : ""
        }`,
    );
    return 0;
  },
};

/**
 * `check FILE`: load into a fresh machine; 0 when accepted, 1 with the typed error. With
 * `--target qemu -- QEMU ARGS`: into a fresh QEMU instead (3 when QEMU crashed or hung).
 */
export const checkCommand: CommandDef = {
  name: "check",
  summary: "Load a snapshot into a fresh machine: exit 0 if it loads, 1 with the typed error",
  args: [
    { name: "file", description: "snapshot or migration stream", type: fileType },
    {
      name: "qemu",
      optional: true,
      variadic: true,
      description: "with --target qemu: the QEMU command line, after --",
    },
  ],
  options: [
    {
      flags: "--ram <size>",
      description: "guest RAM size (default: as announced by the stream)",
      type: sizeType,
    },
    targetOption,
    ...qemuRunOptions,
    { flags: "--json", description: "print the outcome as one JSON object on stdout" },
    {
      flags: "--stats",
      description: 'print {"bytes","seconds","mbPerSecond","peakRssBytes"} on stderr',
    },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const file = args[0] as string;
    if (opts.target === "qemu") {
      const argv = qemuArgv(args.slice(1), "check");
      return await runOneQemu(ctx, `check: ${file}`, await Deno.readFile(file), argv, opts);
    }
    if (args.length > 1) {
      throw new UsageError("check takes one FILE (QEMU arguments need --target qemu)");
    }
    try {
      const ramSize = (opts.ram as number | undefined) ?? (await snapshotRamSize(file)) ??
        undefined;
      // A stream from QEMU 7.2's riscv virt gets the `qemu-virt` profile it needs.
      const qemu = await qemuVirtOptionsForFile(file);
      const m = new VirtMachine(qemu ?? { ramSize });
      const bar = ctx.progress?.(`check ${file}`, m.ram.size);
      let loaded;
      try {
        loaded = await loadMachineFile(
          m,
          file,
          bar && ((bytes, total) => bar.update(bytes, total)),
        );
      } finally {
        bar?.done();
      }
      const { report, stats } = loaded;
      if (opts.stats) ctx.io.err(JSON.stringify(stats));
      const into = qemu ? `; resumes on qemu-virt with ${m.ram.size >> 20} MiB RAM` : "";
      if (opts.json) {
        ctx.io.out(JSON.stringify({
          ok: true,
          bytes: report.bytes,
          sections: report.sections.length,
          machine: m.profile,
          ramBytes: m.ram.size,
        }));
      } else {
        ctx.io.out(
          `check: ${file}: loads (${report.sections.length} sections, ${report.bytes} bytes)${into}`,
        );
      }
      return 0;
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      const blockers = await foreignBlockers(file);
      if (opts.json) ctx.io.out(JSON.stringify({ ok: false, ...e.toJSON(), blockers }));
      else {
        ctx.io.err(`check: ${file}: rejected: ${e.name} [${e.kind}]: ${e.message}`);
        if (blockers.length) {
          ctx.io.err(`check: ${file}: what stands in the way of resuming it here:`);
          for (const line of renderBlockers(blockers)) ctx.io.err(`  ${line}`);
        }
      }
      return 1;
    }
  },
};

/**
 * For a QEMU stream of another machine (or QEMU riscv virt's that did not load): every section,
 * block or field that stands in the way, by name; none for snapshell's own streams and pipes.
 */
async function foreignBlockers(file: string): Promise<StreamBlocker[]> {
  if (!(await Deno.stat(file).then((st) => st.isFile, () => false))) return [];
  const bytes = await Deno.readFile(file);
  return isForeignQemuStream(bytes) ? await qemuStreamBlockers(bytes) : [];
}
