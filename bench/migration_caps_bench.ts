/**
 * QEMU's migration capabilities against plain precopy, on the memory-writer guest at a rate plain
 * precopy cannot converge at (docs/benchmarks.md):
 *
 *   deno run --allow-read bench/migration_caps_bench.ts [--runs N]
 *
 * The guest (emu/guests/build/memwriter.elf, 16 MiB) rewrites 12 bytes of page after page over a
 * 1024-page region, about 1.5 times what 64 MiB/s carries; the link is 64 MiB/s with a 40 ms
 * downtime limit and 30 dirty rounds. Modes: plain precopy (gives up), plain precopy forced after
 * its rounds, xbzrle (64 MiB cache), auto-converge (QEMU's default 20% + 10%). Total time and
 * downtime are the model's (bytes at the bandwidth, deterministic); wall time is measured. Modes
 * are interleaved run by run; the summary gives medians of the wall times.
 * @module
 */
import { parseElf } from "../emu/elf.ts";
import { VirtMachine } from "../emu/virt.ts";
import {
  type MigrationCapabilities,
  NO_MIGRATION_CAPABILITIES,
} from "../harness/migration/capabilities.ts";
import { DEFAULT_PARAMETERS, type MigrationParameters } from "../harness/migration/params.ts";
import { precopy } from "../harness/migration/precopy.ts";
import type { Outgoing } from "../harness/migration/transport.ts";

const MEMWRITER = Deno.readFileSync(new URL("../emu/guests/build/memwriter.elf", import.meta.url));

/** The guest: memwriter with its rate patched, its region written once. */
function guest(): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(MEMWRITER);
  const syms = parseElf(MEMWRITER).symbols;
  const poke = (name: string, v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    m.ram.write(syms.get(name)!, b);
  };
  poke("memwriter_pages_per_round", 16);
  poke("memwriter_delay", 12000);
  poke("memwriter_region_pages", 1024);
  poke("memwriter_report_every", 64);
  m.run(10_000_000);
  return m;
}

/** An outgoing transport that counts bytes and keeps none. */
function counting(): Outgoing {
  return {
    sink: { write: () => Promise.resolve() },
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
}

interface Mode {
  name: string;
  params: Partial<MigrationParameters>;
  caps: Partial<MigrationCapabilities>;
}

const MODES: Mode[] = [
  { name: "precopy", params: {}, caps: {} },
  { name: "precopy-forced", params: { onNoConvergence: "force" }, caps: {} },
  { name: "xbzrle", params: {}, caps: { xbzrle: true } },
  { name: "auto-converge", params: {}, caps: { autoConverge: true } },
];

const LINK: Partial<MigrationParameters> = {
  maxBandwidth: 64 << 20,
  downtimeLimitMs: 40,
  maxRounds: 30,
};

async function measure(mode: Mode): Promise<Record<string, unknown>> {
  const m = guest();
  const t0 = performance.now();
  const s = await precopy(m, counting(), "bench:", {
    ...DEFAULT_PARAMETERS,
    ...LINK,
    ...mode.params,
  }, {
    capabilities: { ...NO_MIGRATION_CAPABILITIES, ...mode.caps },
  });
  return {
    mode: mode.name,
    state: s.state,
    converged: s.converged,
    rounds: s.rounds.length,
    bytes: s.bytes,
    totalSeconds: Number(s.virtualSeconds.toFixed(4)),
    downtimeMs: s.downtimeMs === null ? null : Number(s.downtimeMs.toFixed(1)),
    throttlePercent: s.throttlePercent,
    xbzrlePages: s.xbzrle?.pages ?? 0,
    wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  };
}

/** Every mode `runs` times, interleaved; one JSON line each, then the medians. */
async function main(): Promise<void> {
  const runsAt = Deno.args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 3;
  const walls = new Map<string, number[]>();
  const last = new Map<string, Record<string, unknown>>();
  for (let r = 0; r < runs; r++) {
    for (const mode of MODES) {
      const rec = await measure(mode);
      console.log(JSON.stringify({ run: r, ...rec }));
      walls.set(mode.name, [...(walls.get(mode.name) ?? []), rec.wallSeconds as number]);
      last.set(mode.name, rec);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of MODES) {
    const rec = last.get(mode.name)!;
    console.log(
      `${mode.name}: ${rec.state}, ${rec.rounds} rounds, ${rec.bytes} bytes, total ${rec.totalSeconds} s, ` +
        `downtime ${rec.downtimeMs ?? "-"} ms, throttle ${rec.throttlePercent}%, ` +
        `xbzrle pages ${rec.xbzrlePages}, wall median ${median(walls.get(mode.name)!)} s`,
    );
  }
}

// Only as a script: `deno task bench` (deno bench bench/) loads this file and must not run it.
if (import.meta.main) await main();
