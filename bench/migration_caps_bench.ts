/**
 * QEMU's migration capabilities against plain precopy, on the memory-writer guest at a rate plain
 * precopy cannot converge at (docs/benchmarks.md):
 *
 *   deno run --allow-read bench/migration_caps_bench.ts [--runs N]
 *
 * The guest (emu/guests/build/memwriter.elf, 16 MiB) rewrites 12 bytes of page after page over a
 * 1024-page region, about 1.5 times what 64 MiB/s carries; the link is 64 MiB/s with a 40 ms
 * downtime limit and 30 dirty rounds. Modes: plain precopy (gives up), plain precopy forced after
 * its rounds, xbzrle (64 MiB cache), auto-converge (QEMU's default 20% + 10%), postcopy-ram
 * (switch after 2 precopy rounds; to a destination in this process over loopback TCP paced at the
 * same 64 MiB/s, which runs the guest at once and pulls missing pages over the return path).
 * Total time and downtime are the model's (bytes at the bandwidth; for postcopy, downtime is the
 * bytes from the switch-over to MIG_CMD_POSTCOPY_RUN); wall time is measured. Modes are
 * interleaved run by run; the summary gives medians of the wall times.
 *
 *   deno run --allow-read --allow-net=127.0.0.1 bench/migration_caps_bench.ts [--runs N]
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
import { openOutgoing, type Outgoing } from "../harness/migration/transport.ts";
import { receiveMigration } from "../harness/migration/incoming.ts";

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
  { name: "postcopy", params: { postcopyAfterRounds: 2 }, caps: { postcopyRam: true } },
];

/** A tcp transport to a destination in this process, paced at `bandwidth`; its outcome. */
async function loopback(bandwidth: number) {
  let listening!: (port: number) => void;
  const port = new Promise<number>((r) => listening = r);
  const incoming = receiveMigration(
    { kind: "tcp", host: "127.0.0.1", port: 0 },
    (ram) => new VirtMachine({ ramSize: ram }),
    { onListening: (u) => listening(Number(u.split(":").pop())), timeoutMs: 60_000 },
  );
  const out = await openOutgoing({ kind: "tcp", host: "127.0.0.1", port: await port }, {
    maxBandwidth: bandwidth,
  });
  return { out, incoming };
}

const LINK: Partial<MigrationParameters> = {
  maxBandwidth: 64 << 20,
  downtimeLimitMs: 40,
  maxRounds: 30,
};

async function measure(mode: Mode): Promise<Record<string, unknown>> {
  const m = guest();
  const t0 = performance.now();
  const tcp = mode.caps.postcopyRam ? await loopback(LINK.maxBandwidth!) : undefined;
  const s = await precopy(m, tcp?.out ?? counting(), "bench:", {
    ...DEFAULT_PARAMETERS,
    ...LINK,
    ...mode.params,
  }, {
    capabilities: { ...NO_MIGRATION_CAPABILITIES, ...mode.caps },
  });
  const dest = await tcp?.incoming;
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
    postcopyRequests: s.postcopy?.requests ?? 0,
    postcopyPushed: s.postcopy?.pushedPages ?? 0,
    destFaults: dest?.postcopy?.faults ?? 0,
    destCyclesDuringPostcopy: dest?.postcopy?.cycles ?? 0,
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
        `xbzrle pages ${rec.xbzrlePages}, postcopy requests ${rec.postcopyRequests} ` +
        `(dest faults ${rec.destFaults}), wall median ${median(walls.get(mode.name)!)} s`,
    );
  }
}

// Only as a script: `deno task bench` (deno bench bench/) loads this file and must not run it.
if (import.meta.main) await main();
