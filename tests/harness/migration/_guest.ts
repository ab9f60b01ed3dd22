/**
 * Shared pieces of the migration harness tests: a memwriter machine with its dirtying rate
 * patched, a fingerprint of everything that decides a machine's future, and an in-memory
 * outgoing transport.
 * @module
 */
import { cpuToRecord } from "../../../emu/cpu/vmstate.ts";
import { parseElf } from "../../../emu/elf.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import type { Outgoing } from "../../../harness/migration/transport.ts";
import { MemorySink } from "../../../migration/stream/io.ts";

const MEMWRITER = Deno.readFileSync(
  new URL("../../../emu/guests/build/memwriter.elf", import.meta.url),
);

/** memwriter's patchable configuration (its ELF symbols). */
export interface MemwriterConfig {
  /** Pages rewritten per round. */
  pagesPerRound?: number;
  /** Busy-loop iterations between rounds. */
  delay?: number;
  /** Pages in the rewritten region. */
  regionPages?: number;
  /** Rounds per progress line. */
  reportEvery?: number;
}

/** A 16 MiB virt machine booted with memwriter, configured, not yet run. */
export function memwriter(cfg: MemwriterConfig = {}): VirtMachine {
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(MEMWRITER);
  const syms = parseElf(MEMWRITER).symbols;
  const poke = (name: string, v: number | undefined) => {
    if (v === undefined) return;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    m.ram.write(syms.get(name)!, b);
  };
  poke("memwriter_pages_per_round", cfg.pagesPerRound);
  poke("memwriter_delay", cfg.delay);
  poke("memwriter_region_pages", cfg.regionPages);
  poke("memwriter_report_every", cfg.reportEvery);
  return m;
}

/** CPU record, RAM, virtual time and console: equal fingerprints mean identical futures. */
export function fingerprint(m: VirtMachine) {
  return {
    cpu: cpuToRecord(m.cpu.state, m.ram.base),
    ram: m.ram.u8.slice(),
    now: m.nowNs(),
    console: m.consoleText,
  };
}

/** An outgoing transport into memory that records how it ended. */
export function memoryOutgoing(): Outgoing & { bytes(): Uint8Array; ended: string } {
  const sink = new MemorySink();
  const out = {
    sink,
    ended: "open",
    bytes: () => sink.bytes(),
    finish() {
      out.ended = "finished";
      return Promise.resolve();
    },
    abort() {
      out.ended = "aborted";
      return Promise.resolve();
    },
  };
  return out;
}

/**
 * The bytes of a postcopy migration of a warmed-up memwriter (2 precopy rounds, then postcopy),
 * sent over loopback TCP to a destination in this process, and the source at the switch-over.
 */
export async function postcopyStream(): Promise<{ bytes: Uint8Array; source: VirtMachine }> {
  const { receiveMigration } = await import("../../../harness/migration/incoming.ts");
  const { openOutgoing } = await import("../../../harness/migration/transport.ts");
  const { precopy } = await import("../../../harness/migration/precopy.ts");
  const { DEFAULT_PARAMETERS } = await import("../../../harness/migration/params.ts");
  const { NO_MIGRATION_CAPABILITIES } = await import("../../../harness/migration/capabilities.ts");
  const src = memwriter({ pagesPerRound: 16, delay: 2000, regionPages: 64, reportEvery: 64 });
  src.run(3_000_000);
  let listening!: (port: number) => void;
  const port = new Promise<number>((r) => listening = r);
  const incoming = receiveMigration(
    { kind: "tcp", host: "127.0.0.1", port: 0 },
    (ram) => new VirtMachine({ ramSize: ram }),
    { onListening: (u) => listening(Number(u.split(":").pop())), timeoutMs: 20_000 },
  );
  const out = await openOutgoing({ kind: "tcp", host: "127.0.0.1", port: await port });
  const sent = new MemorySink();
  const tee = {
    ...out,
    sink: { write: (c: Uint8Array) => sent.write(c.slice()).then(() => out.sink.write(c)) },
  };
  const status = await precopy(src, tee, "tcp:test", {
    ...DEFAULT_PARAMETERS,
    downtimeLimitMs: 0,
    postcopyAfterRounds: 2,
  }, { capabilities: { ...NO_MIGRATION_CAPABILITIES, postcopyRam: true } });
  await incoming;
  if (status.state !== "completed") throw new Error(`postcopy: ${status.reason}`);
  return { bytes: sent.bytes(), source: src };
}
