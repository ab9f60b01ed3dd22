/**
 * Migration speed and memory, each measurement in its own process (so peak RSS is that of one
 * save or one load):
 *
 *   deno task bench:migration [--runs N] [--case zero-1g|random-256m|random-1g] [--dir DIR]
 *
 * For every case: `save` builds the guest (RAM zero, or filled like `snapshot --fill random:7`,
 * then the demo guest booted and run for 1,000,000 instructions, as `snapshot` does) and sends it
 * with `migrate file:` code (precopy with max-bandwidth 1e12 B/s, as QEMU's
 * `migrate "exec:cat > FILE"` with max-bandwidth raised; the guest runs for the virtual time the
 * bytes take, about 27,000 instructions for 256 MiB); `load` receives the file with
 * `incoming file:` code into a fresh machine; `load-prealloc` into a machine whose RAM was mapped
 * before the clock started (`incoming --prealloc`). `sync` runs before each measurement so
 * earlier files' writeback does not disturb it. Prints one JSON line per measurement and a
 * summary of the medians. Under `deno bench` (`deno task bench`), it registers the 256 MiB cases
 * instead.
 * @module
 */
import { DEFAULT_GUEST, VirtMachine } from "../emu/virt.ts";
import { peakRssBytes } from "../emu/snapshot_file.ts";
import { receiveMigration } from "../harness/migration/incoming.ts";
import { DEFAULT_PARAMETERS } from "../harness/migration/params.ts";
import { precopy } from "../harness/migration/precopy.ts";
import { openOutgoing } from "../harness/migration/transport.ts";
import { fillRandom } from "../repl/commands/machine_commands.ts";

/** A benchmark case: guest RAM size and content. */
interface Case {
  name: string;
  mib: number;
  random: boolean;
}

const CASES: Case[] = [
  { name: "zero-1g", mib: 1024, random: false },
  { name: "random-256m", mib: 256, random: true },
  { name: "random-1g", mib: 1024, random: true },
];

/** Each run: save, load into a fresh machine, load into a preallocated one. */
const OPS = ["save", "load", "load-prealloc"];

/** Bandwidth high enough that pacing never applies (QEMU measured with the same). */
const UNLIMITED = 1e12;

/** One measurement's figures, as `--stats` prints them. */
interface Figures {
  bytes: number;
  seconds: number;
  mbPerSecond: number;
  peakRssBytes: number;
}

/** Instructions the guest runs before it is saved, as `snapshot` does by default. */
const WARM_INSNS = 1_000_000;

/**
 * The demo guest booted over RAM that is zero or filled (as `snapshot --fill random:7` does),
 * then run for {@link WARM_INSNS} instructions: a live guest, with the interpreter compiled.
 */
function guest(c: Case): VirtMachine {
  const m = new VirtMachine({ ramSize: c.mib << 20 });
  if (c.random) {
    fillRandom(m.ram.u32, 7);
    m.ram.markAllDirty();
  }
  m.boot(Deno.readFileSync(DEFAULT_GUEST));
  m.run(WARM_INSNS);
  return m;
}

/** Save guest `m` to `path` the way `migrate file:PATH` does. */
async function save(m: VirtMachine, path: string): Promise<Figures> {
  const t0 = performance.now();
  const out = await openOutgoing({ kind: "file", path }, { maxBandwidth: UNLIMITED });
  const st = await precopy(m, out, `file:${path}`, {
    ...DEFAULT_PARAMETERS,
    maxBandwidth: UNLIMITED,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (st.state !== "completed") throw st.error ?? new Deno.errors.Interrupted(st.reason);
  return { bytes: st.bytes, seconds, mbPerSecond: st.bytes / 1e6 / seconds, peakRssBytes: 0 };
}

/** Receive `path` the way `incoming file:PATH` does, timed from opening it to the commit. */
async function timedLoad(
  path: string,
  destination: VirtMachine | ((ram: number | undefined) => VirtMachine),
): Promise<Figures> {
  const t0 = performance.now();
  const got = await receiveMigration({ kind: "file", path }, destination);
  const seconds = (performance.now() - t0) / 1000;
  const bytes = got.report.bytes;
  return { bytes, seconds, mbPerSecond: bytes / 1e6 / seconds, peakRssBytes: 0 };
}

/** Load `path` into a fresh machine of the size the stream announces. */
function load(path: string): Promise<Figures> {
  return timedLoad(path, (ram) => new VirtMachine({ ramSize: ram }));
}

/**
 * Load `path` into a machine made and preallocated before the clock starts, the way
 * `incoming --prealloc` prepares one before the stream arrives.
 */
function loadPreallocated(path: string, c: Case): Promise<Figures> {
  const m = new VirtMachine({ ramSize: c.mib << 20 });
  m.ram.prefault();
  return timedLoad(path, m);
}

async function child(op: string, name: string, path: string): Promise<void> {
  const c = CASES.find((x) => x.name === name)!;
  const f = op === "save"
    ? await save(guest(c), path)
    : op === "load"
    ? await load(path)
    : await loadPreallocated(path, c);
  f.peakRssBytes = peakRssBytes();
  console.log(JSON.stringify({ case: name, op, ...f }));
}

/** The child gets the parent's permissions: explicit ones, or all when run with -A (/dev/shm). */
function childFlags(): string[] {
  if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") return ["-A"];
  return ["--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-sys"];
}

async function spawn(args: string[]): Promise<Record<string, number | string>> {
  await new Deno.Command("sync").output();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...childFlags(), new URL(import.meta.url).pathname, ...args],
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0) {
    throw new Deno.errors.Interrupted(
      `${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") return await child(argv[1], argv[2], argv[3]);
  const runs = Number(argv[argv.indexOf("--runs") + 1] || 5);
  const only = argv.includes("--case") ? argv[argv.indexOf("--case") + 1] : null;
  const base = argv.includes("--dir") ? argv[argv.indexOf("--dir") + 1] : undefined;
  const dir = await Deno.makeTempDir({ prefix: "snapshell-bench-", dir: base });
  try {
    for (const c of CASES.filter((x) => !only || x.name === only)) {
      const rows: Record<string, number | string>[] = [];
      for (let i = 0; i < runs; i++) {
        const path = `${dir}/${c.name}.qemu`;
        await Deno.remove(path).catch(() => {});
        for (const op of OPS) {
          const r = await spawn(["--child", op, c.name, path]);
          console.log(JSON.stringify(r));
          rows.push(r);
        }
      }
      for (const op of OPS) {
        const mine = rows.filter((r) => r.op === op);
        const secs = median(mine.map((r) => Number(r.seconds)));
        const rss = Math.max(...mine.map((r) => Number(r.peakRssBytes)));
        console.log(
          `${c.name} ${op}: median ${secs.toFixed(3)} s, ${
            (Number(mine[0].bytes) / 1e6 / secs).toFixed(0)
          } MB/s, peak RSS ${(rss / (1 << 20)).toFixed(0)} MiB (${
            (rss / (c.mib << 20)).toFixed(2)
          }x guest RAM), ${mine[0].bytes} bytes`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await main(Deno.args);
} else {
  const dir = Deno.makeTempDirSync({ prefix: "snapshell-bench-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const random = guest(CASES.find((x) => x.name === "random-256m")!);
  const zero = guest(CASES.find((x) => x.name === "zero-1g")!);
  const path = `${dir}/bench.qemu`;
  Deno.bench({
    name: "migrate file: 256 MiB of random RAM (save)",
    n: 5,
    warmup: 1,
    async fn() {
      await save(random, path);
    },
  });
  Deno.bench({
    name: "incoming file: 256 MiB of random RAM (load into a fresh machine)",
    n: 5,
    warmup: 1,
    async fn() {
      await load(path);
    },
  });
  Deno.bench({
    name: "incoming --prealloc file: 256 MiB of random RAM (load into a preallocated machine)",
    n: 5,
    warmup: 1,
    async fn(b) {
      const m = new VirtMachine({ ramSize: 256 << 20 });
      m.ram.prefault();
      b.start();
      await receiveMigration({ kind: "file", path }, m);
      b.end();
    },
  });
  Deno.bench({
    name: "migrate file: 1 GiB guest, mostly zero (save)",
    n: 5,
    warmup: 1,
    async fn() {
      await save(zero, `${dir}/zero.qemu`);
    },
  });
}
