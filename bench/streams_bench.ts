/**
 * `deno task bench:streams`: our `inspect` against QEMU 7.2's analyze-migration.py on the same
 * large QEMU streams (made by tools/qemu-fixtures/make-big-streams.sh into the cache), runs
 * interleaved; prints median wall and CPU (user + system) times, our/python ratios and max RSS
 * (from /usr/bin/time). `BASE_MAIN=/path/to/other/main.ts` adds that build's analyze to every
 * round (a before/after figure from the same run). Skips with a message when a stream, python3,
 * the script or /usr/bin/time is missing.
 * @module
 */
const home = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
const dir = Deno.env.get("SNAPSHELL_STREAMS_DIR") ?? `${home}/snapshell/streams`;
const script = Deno.env.get("ANALYZE_MIGRATION") ??
  "/work/qemu-src/qemu-7.2.0/scripts/analyze-migration.py";
const rounds = Number(Deno.env.get("ROUNDS") ?? "5");
const main = new URL("../main.ts", import.meta.url).pathname;
const baseMain = Deno.env.get("BASE_MAIN");

/** One run's wall and CPU seconds and max RSS in KiB. */
interface Timed {
  secs: number;
  cpu: number;
  rssKb: number;
}

/** One timed run, from GNU time's output. */
async function timed(cmd: string[]): Promise<Timed> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "@@ %e %M %U %S", ...cmd],
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  const m = text.match(/@@ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/);
  if (!out.success || !m) throw new Error(`${cmd.join(" ")} failed:\n${text}`);
  return { secs: Number(m[1]), rssKb: Number(m[2]), cpu: Number(m[3]) + Number(m[4]) };
}

/** Median of a list of numbers. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const ours = (file: string, fmt: string, entry = main) => [
  Deno.execPath(),
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-net=127.0.0.1,localhost",
  entry,
  "inspect",
  "--format",
  fmt,
  file,
];
const python = (file: string) => ["python3", script, "-f", file];

if (!(await exists("/usr/bin/time")) || !(await exists(script))) {
  console.log(`skipped: needs /usr/bin/time and ${script}`);
  Deno.exit(0);
}
const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`streams bench: ${rounds} rounds interleaved, load average ${load}`);
for (const name of ["pc-1g.mig", "random-4g.mig"]) {
  const file = `${dir}/${name}`;
  if (!(await exists(file))) {
    console.log(`${name}: skipped (run tools/qemu-fixtures/make-big-streams.sh)`);
    continue;
  }
  const runs: Record<string, Timed[]> = {
    "ours analyze": [],
    "ours tree": [],
    "analyze-migration.py": [],
  };
  if (baseMain) runs["base analyze"] = [];
  for (let i = 0; i < rounds; i++) {
    runs["ours analyze"].push(await timed(ours(file, "analyze")));
    runs["analyze-migration.py"].push(await timed(python(file)));
    runs["ours tree"].push(await timed(ours(file, "tree")));
    if (baseMain) runs["base analyze"].push(await timed(ours(file, "analyze", baseMain)));
  }
  const py = median(runs["analyze-migration.py"].map((r) => r.secs));
  const pyCpu = median(runs["analyze-migration.py"].map((r) => r.cpu));
  console.log(`${name} (${(await Deno.stat(file)).size} bytes)`);
  for (const [what, rs] of Object.entries(runs)) {
    const secs = median(rs.map((r) => r.secs));
    const cpu = median(rs.map((r) => r.cpu));
    const rss = Math.max(...rs.map((r) => r.rssKb));
    console.log(
      `  ${what.padEnd(22)} median ${secs.toFixed(2)} s (${(secs / py).toFixed(2)} of py)  ` +
        `cpu ${cpu.toFixed(2)} s (${(cpu / pyCpu).toFixed(2)} of py)  max RSS ${
          (rss / 1024).toFixed(0)
        } MiB`,
    );
  }
}
