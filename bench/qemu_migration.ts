/**
 * Measures QEMU 7.2 saving and loading a paused riscv32 `virt` guest through a file, the
 * reference figures of docs/benchmarks.md:
 *
 *   deno task bench:qemu-migration [--runs N] [--case NAME] [--dir DIR]
 *
 * Save: `qemu-system-riscv32 -M virt -bios none -m SIZE -S` (RAM filled from a file with
 * `-device loader` for the random cases, the same xorshift content as `snapshot --fill random:7`),
 * `migrate-set-parameters max-bandwidth` unlimited, then `migrate "exec:cat > FILE"`; the time is
 * QEMU's own `total-time` from query-migrate. Load: a second QEMU with `-incoming defer`, then
 * `migrate-incoming "exec:cat FILE"`, timed from the command until query-migrate says completed.
 * Peak RSS is each QEMU's VmHWM. Prints one JSON object per measurement.
 * @module
 */
import { fillRandom } from "../repl/commands/machine_commands.ts";
import { freePort, Qmp, QmpError } from "./qmp.ts";

/** One benchmark case: guest RAM size and content. */
export interface QemuCase {
  /** Case name. */
  name: string;
  /** Guest RAM in MiB. */
  mib: number;
  /** Fill RAM with the xorshift pattern of `--fill random:7`. */
  random: boolean;
}

/** The cases docs/benchmarks.md reports. */
export const CASES: QemuCase[] = [
  { name: "zero-1g", mib: 1024, random: false },
  { name: "random-256m", mib: 256, random: true },
  { name: "random-1g", mib: 1024, random: true },
];

const QEMU = "qemu-system-riscv32";

/** QEMU's peak RSS (VmHWM), read by `cat`: Deno 2.9 wants all permissions to read /proc itself. */
function peakRss(pid: number): number {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/status`], stderr: "null" })
    .outputSync();
  const m = /VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(out.stdout));
  return m ? Number(m[1]) * 1024 : 0;
}

async function waitMigration(qmp: Qmp, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  for (;;) {
    const info = await qmp.execute("query-migrate") as Record<string, unknown>;
    if (info.status === "completed") return info;
    if (info.status === "failed" || info.status === "cancelled") {
      throw new QmpError("query-migrate", info);
    }
    if (performance.now() - t0 > timeoutMs) throw new QmpError("query-migrate", "timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

function startQemu(port: number, c: QemuCase, extra: string[]): Deno.ChildProcess {
  const args = [
    "-M",
    "virt",
    "-bios",
    "none",
    "-m",
    `${c.mib}M`,
    "-S",
    "-display",
    "none",
    "-serial",
    "none",
    "-monitor",
    "none",
    "-qmp",
    `tcp:127.0.0.1:${port},server=on,wait=off`,
    ...extra,
  ];
  return new Deno.Command(QEMU, { args, stdout: "null", stderr: "inherit" }).spawn();
}

/** Save and load one case once; returns the figures. */
export async function measureCase(c: QemuCase, dir: string): Promise<Record<string, unknown>> {
  const stream = `${dir}/${c.name}.qemu`;
  const extra: string[] = [];
  if (c.random) {
    const image = `${dir}/${c.name}.ram`;
    const words = new Uint32Array((c.mib << 20) >>> 2);
    fillRandom(words, 7);
    await Deno.writeFile(image, new Uint8Array(words.buffer));
    extra.push("-device", `loader,file=${image},addr=0x80000000,force-raw=on`);
  }
  await Deno.remove(stream).catch(() => {});
  await new Deno.Command("sync").output(); // earlier files' writeback must not disturb this one
  let port = freePort();
  const src = startQemu(port, c, extra);
  let qmp = await Qmp.connect(port);
  await qmp.execute("migrate-set-parameters", { "max-bandwidth": 1e12 });
  const t0 = performance.now();
  await qmp.execute("migrate", { uri: `exec:cat > ${stream}` });
  const done = await waitMigration(qmp);
  const saveWall = (performance.now() - t0) / 1000;
  const saveRss = peakRss(src.pid);
  await qmp.execute("quit").catch(() => {});
  qmp.close();
  await src.status;
  const bytes = (await Deno.stat(stream)).size;
  await new Deno.Command("sync").output();
  port = freePort();
  const dst = startQemu(port, c, ["-incoming", "defer"]);
  qmp = await Qmp.connect(port);
  const t1 = performance.now();
  await qmp.execute("migrate-incoming", { uri: `exec:cat ${stream}` });
  await waitMigration(qmp);
  const loadWall = (performance.now() - t1) / 1000;
  const loadRss = peakRss(dst.pid);
  await qmp.execute("quit").catch(() => {});
  qmp.close();
  await dst.status;
  const saveSeconds = Number(done["total-time"]) / 1000;
  return {
    case: c.name,
    bytes,
    saveSeconds,
    saveWallSeconds: saveWall,
    saveMbPerSecond: bytes / 1e6 / saveSeconds,
    savePeakRssBytes: saveRss,
    loadWallSeconds: loadWall,
    loadMbPerSecond: bytes / 1e6 / loadWall,
    loadPeakRssBytes: loadRss,
  };
}

if (import.meta.main) {
  const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 3);
  const only = Deno.args.includes("--case") ? Deno.args[Deno.args.indexOf("--case") + 1] : null;
  const base = Deno.args.includes("--dir") ? Deno.args[Deno.args.indexOf("--dir") + 1] : undefined;
  const dir = await Deno.makeTempDir({ prefix: "qemu-mig-", dir: base });
  try {
    for (const c of CASES.filter((x) => !only || x.name === only)) {
      for (let i = 0; i < runs; i++) console.log(JSON.stringify(await measureCase(c, dir)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
