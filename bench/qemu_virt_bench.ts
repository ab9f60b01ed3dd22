/**
 * `qemu-virt` save and load, in memory: a machine with QEMU riscv virt's RAM blocks (two 32 MiB
 * flash banks, RAM, mrom) saved to a buffer and loaded into a fresh machine. `--base DIR` times a
 * second checkout (e.g. `git archive` of an earlier commit) in the same process, run for run
 * interleaved with this one, so both see the same machine load.
 *
 * deno run --allow-read --allow-sys=loadavg bench/qemu_virt_bench.ts [--runs N] [--ram MIB]
 *   [--base DIR] [--stream QEMU_STREAM]
 * @module
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";

/** One build's entry points, imported from its root. */
interface Build {
  name: string;
  VirtMachine: typeof import("../emu/virt.ts").VirtMachine;
  StreamWriter: typeof import("../migration/stream/writer.ts").StreamWriter;
  StreamReader: typeof import("../migration/stream/reader.ts").StreamReader;
}

async function build(name: string, root: URL): Promise<Build> {
  const virt = await import(new URL("emu/virt.ts", root).href);
  const w = await import(new URL("migration/stream/writer.ts", root).href);
  const r = await import(new URL("migration/stream/reader.ts", root).href);
  return {
    name,
    VirtMachine: virt.VirtMachine,
    StreamWriter: w.StreamWriter,
    StreamReader: r.StreamReader,
  };
}

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "9" },
    ram: { type: "string", default: "16" },
    base: { type: "string" },
    stream: { type: "string" },
  },
});
const builds = [await build("this", new URL("../", import.meta.url))];
if (values.base) builds.unshift(await build("base", new URL(`file://${values.base}/`)));
const ramSize = Number(values.ram) << 20;
const times = new Map(
  builds.map((b) => [b.name, { save: [] as number[], load: [] as number[], qemu: [] as number[] }]),
);
/** A stream QEMU wrote (`--stream FILE`, e.g. tests/fixtures/qemu72/virt-reset.qemu), loaded too. */
const qemuStream = values.stream ? Deno.readFileSync(values.stream) : undefined;

for (let i = 0; i < Number(values.runs); i++) {
  for (const b of builds) {
    const opts = { profile: "qemu-virt" as const, ramSize, slirp: false };
    const m = new b.VirtMachine(opts);
    m.bus.store(0x2000_0000, 4, 0x40); // one programmed flash word, as a guest that wrote flash
    m.bus.store(0x2000_0000, 4, 0x1234_5678);
    let t = performance.now();
    const w = new b.StreamWriter();
    await m.save(w);
    const bytes = w.take();
    const save = performance.now() - t;
    t = performance.now();
    const dst = new b.VirtMachine(opts);
    await dst.load(b.StreamReader.fromBytes(bytes));
    const load = performance.now() - t;
    times.get(b.name)!.save.push(save);
    times.get(b.name)!.load.push(load);
    if (qemuStream) {
      t = performance.now();
      const q = new b.VirtMachine({ ...opts, slirp: true }); // QEMU with its default user NIC
      await q.load(b.StreamReader.fromBytes(qemuStream));
      times.get(b.name)!.qemu.push(performance.now() - t);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (xs: number[]) =>
  `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
console.log(
  `qemu-virt, ${values.ram} MiB RAM, ${values.runs} runs, load average ${loadavg()[0].toFixed(1)}`,
);
for (const [name, t] of times) {
  const q = qemuStream ? `, load of QEMU's stream ${fmt(t.qemu)}` : "";
  console.log(`${name}: save ${fmt(t.save)}, load ${fmt(t.load)}${q}`);
}
if (builds.length === 2) {
  const [a, b] = builds.map((x) => times.get(x.name)!);
  console.log(
    `ratio base/this: save ${(median(a.save) / median(b.save)).toFixed(2)}x, load ${
      (median(a.load) / median(b.load)).toFixed(2)
    }x${qemuStream ? `, QEMU's stream ${(median(a.qemu) / median(b.qemu)).toFixed(2)}x` : ""}`,
  );
}
