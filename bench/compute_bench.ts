/**
 * `deno task bench:compute [RUNS]`: the compute guest (emu/guests/build/compute.elf, CRC32, about
 * 1.0e9 instructions) to its exit, side by side in one run, alternating: snapshell translating
 * (`run ELF --stats --translate`, a fresh process each time), snapshell interpreting and
 * QEMU 7.2's TCG (`qemu-system-riscv32 -M virt -bios none -m 128M -kernel compute.elf`, wall time
 * from spawn to exit). Prints each run, then medians and ratios. QEMU is skipped when missing.
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const ELF = `${ROOT}emu/guests/build/compute.elf`;
const INSNS = 1_001_370_554;

async function snapshell(interpret: boolean): Promise<number> {
  const args = ["run", "-A", `${ROOT}main.ts`, "run", ELF, "--stats"];
  args.push(interpret ? "--interpret" : "--translate");
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
    .output();
  const wall = (performance.now() - t0) / 1000;
  const line = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
  const stats = JSON.parse(line) as { insns: number; seconds: number };
  if (stats.insns !== INSNS) throw new Error(`compute retired ${stats.insns} instructions`);
  return wall;
}

async function qemu(): Promise<number | string> {
  const t0 = performance.now();
  try {
    const out = await new Deno.Command("qemu-system-riscv32", {
      args: ["-M", "virt", "-bios", "none", "-nographic", "-m", "128M", "-kernel", ELF],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!text.includes("compute: result")) return "QEMU did not finish the guest";
  } catch (e) {
    return `qemu-system-riscv32 not runnable: ${(e as Error).message}`;
  }
  return (performance.now() - t0) / 1000;
}

const runs = Number(Deno.args[0] ?? 3);
const rows: Record<string, number[]> = { translated: [], interpreted: [], qemu: [] };
const load = () => Deno.loadavg()[0].toFixed(1);
console.log(`compute.elf (${INSNS.toLocaleString("en-US")} insns), ${runs} runs, alternating`);
for (let i = 1; i <= runs; i++) {
  const t = await snapshell(false);
  rows.translated.push(t);
  const n = await snapshell(true);
  rows.interpreted.push(n);
  const q = await qemu();
  if (typeof q === "number") rows.qemu.push(q);
  const f = (s: number) => `${s.toFixed(2)} s (${(INSNS / s / 1e6).toFixed(0)} MIPS)`;
  console.log(
    `run ${i} (load ${load()}): translated ${f(t)}, interpreted ${f(n)}, qemu ${
      typeof q === "number" ? f(q) : q
    }`,
  );
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const mt = median(rows.translated), mi = median(rows.interpreted);
console.log(`median: translated ${mt.toFixed(2)} s, interpreted ${mi.toFixed(2)} s`);
if (rows.qemu.length) {
  const mq = median(rows.qemu);
  console.log(
    `qemu ${mq.toFixed(2)} s; translated/qemu ${(mt / mq).toFixed(2)}×, ` +
      `interpreted/qemu ${(mi / mq).toFixed(2)}×`,
  );
}
