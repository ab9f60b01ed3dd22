/**
 * File-level machine commands: `snapshot OUT` (boot, run, write a snapshot file) and `check FILE`
 * (does a stream load into a fresh machine?). They call the emulator's libraries and print; all
 * behaviour lives below them. (`run` is in run_commands.ts.)
 * @module
 */
import { MigrationError } from "../../migration/errors.ts";
import { loadMachineFile, saveMachineFile, snapshotRamSize } from "../../emu/snapshot_file.ts";
import { DEFAULT_GUEST, VirtMachine } from "../../emu/virt.ts";
import { readElf } from "./run_commands.ts";
import { parseCount, parseSize } from "./sizes.ts";
import { type CommandContext, type CommandDef, UsageError } from "./types.ts";

function ramOption(opts: Record<string, unknown>): number | undefined {
  return opts.ram === undefined ? undefined : parseSize(String(opts.ram), "RAM size");
}

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

/** `snapshot OUT`: boot, run N instructions, write a snapshot file. */
export const snapshotCommand: CommandDef = {
  name: "snapshot",
  summary: "Boot a guest (the demo by default), run N instructions, write a snapshot",
  args: [{ name: "out", description: "snapshot file to write (atomically)" }],
  options: [
    { flags: "--boot <elf>", description: "guest ELF (default: the embedded demo guest)" },
    { flags: "--insns <n>", description: "instructions to run before saving", default: "1000000" },
    { flags: "--ram <size>", description: "guest RAM size, e.g. 128M", default: "128M" },
    { flags: "--fill <spec>", description: "fill RAM before booting: random[:SEED]" },
    {
      flags: "--stats",
      description: 'print {"bytes","seconds","mbPerSecond","peakRssBytes"} on stderr',
    },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const insns = parseCount(String(opts.insns), "--insns");
    const elf = opts.boot ? await readElf(String(opts.boot)) : await Deno.readFile(DEFAULT_GUEST);
    const m = new VirtMachine({ ramSize: ramOption(opts) });
    if (opts.fill !== undefined) {
      const fm = /^random(?::(\d+))?$/.exec(String(opts.fill));
      if (!fm) throw new UsageError(`Invalid --fill "${opts.fill}": use random or random:SEED`);
      fillRandom(m.ram.u32, Number(fm[1] ?? 1));
      m.ram.markAllDirty(); // written behind the store paths: declare it, or saves skip it
    }
    m.boot(elf);
    m.run(insns);
    // ctx.progress, not progressOf(): this module is light enough for benchmarks to import.
    const bar = ctx.progress?.(`snapshot ${args[0]}`, m.ram.size);
    let st;
    try {
      st = await saveMachineFile(m, args[0], bar && ((bytes) => bar.update(bytes)));
    } finally {
      bar?.done();
    }
    if (opts.stats) ctx.io.err(JSON.stringify(st));
    ctx.io.out(`snapshot: ${args[0]}: ${st.bytes} bytes after ${m.cpu.instret} instructions`);
    return 0;
  },
};

/** `check FILE`: load into a fresh machine; 0 when accepted, 1 with the typed error. */
export const checkCommand: CommandDef = {
  name: "check",
  summary: "Load a snapshot into a fresh machine: exit 0 if it loads, 1 with the typed error",
  args: [{ name: "file", description: "snapshot or migration stream" }],
  options: [
    { flags: "--ram <size>", description: "guest RAM size (default: as announced by the stream)" },
    { flags: "--json", description: "print the outcome as one JSON object on stdout" },
    {
      flags: "--stats",
      description: 'print {"bytes","seconds","mbPerSecond","peakRssBytes"} on stderr',
    },
  ],
  async run(ctx: CommandContext, args, opts): Promise<number> {
    const file = args[0];
    try {
      const ramSize = ramOption(opts) ?? (await snapshotRamSize(file)) ?? undefined;
      const m = new VirtMachine({ ramSize });
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
      if (opts.json) {
        ctx.io.out(
          JSON.stringify({ ok: true, bytes: report.bytes, sections: report.sections.length }),
        );
      } else {
        ctx.io.out(
          `check: ${file}: loads (${report.sections.length} sections, ${report.bytes} bytes)`,
        );
      }
      return 0;
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      if (opts.json) ctx.io.out(JSON.stringify({ ok: false, ...e.toJSON() }));
      else ctx.io.err(`check: ${file}: rejected: ${e.name} [${e.kind}]: ${e.message}`);
      return 1;
    }
  },
};
