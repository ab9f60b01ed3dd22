/**
 * Runs the guests on the reference QEMU (qemu-system-riscv32 7.2, machine `virt`) with 16 MiB
 * and 128 MiB of RAM, checks their output and exit status, and saves the console output as
 * emu/guests/expected/<name>.qemu.txt (for differential tests against snapshell).
 *
 * Usage: deno run --allow-read --allow-write --allow-run emu/guests/qemu.ts [--check] [name...]
 *   --check  compare with the saved files instead of rewriting them
 *
 * Guests that run forever are stopped after their first `lines` lines. The nvme guest is run
 * too: QEMU has no such device (fw_cfg sits at 0x10100000), so it must report that and exit 2.
 */

const QEMU = "qemu-system-riscv32";

interface Case {
  name: string;
  /** Bytes written to the console after start (then stdin is closed). */
  input?: string;
  /** Delay before writing `input` (default 300 ms). */
  inputDelayMs?: number;
  /** Stop after this many output lines (forever-running guests). */
  lines?: number;
  /** Expected exit status when the guest exits by itself. */
  exit?: number;
  /** Lines that must appear in the output. */
  expect: string[];
}

export const CASES: Case[] = [
  { name: "hello", exit: 0, expect: ["Hello from snapshell guest"] },
  { name: "timer", exit: 0, expect: ["tick 1", "tick 10", "timer: done"] },
  {
    name: "uart-echo",
    input: "hello, snapshell\nabc xyz 123\nq",
    exit: 0,
    expect: ["HELLO, SNAPSHELL", "ABC XYZ 123", "uart-echo: bye after 30 bytes"],
  },
  { name: "nvme", exit: 2, expect: ["nvme: no device at 0x10100000"] },
  {
    name: "memwriter",
    lines: 9,
    expect: ["memwriter: round 16, 1024 pages written", "memwriter: round 128, 8192 pages written"],
  },
  { name: "compute-small", exit: 0, expect: ["compute: result 0x00b396e2"] },
  { name: "compute", exit: 0, expect: ["compute: result 0x3dcaec7f"] },
  {
    name: "demo",
    input: "typed text\r",
    inputDelayMs: 750, // between heartbeats 1 and 2 (0.5 s apart), away from the alarm
    lines: 12,
    expect: ["=== snapshell demo guest ===", "demo: nvme: not present", "demo: heartbeat 3 rtc "],
  },
];

const here = new URL(".", import.meta.url).pathname;

/** RTC readings depend on the host clock; mask them when comparing runs. */
export function maskRtc(text: string): string {
  return text.replace(/rtc( at boot)? \d+\.\d{3}s/g, "rtc$1 <time>s");
}

async function runQemu(c: Case, mem: string): Promise<{ out: string; code: number | null }> {
  const child = new Deno.Command(QEMU, {
    args: [
      "-M",
      "virt",
      "-bios",
      "none",
      "-nographic",
      "-m",
      mem,
      "-kernel",
      `build/${c.name}.elf`,
    ],
    cwd: here,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (c.input !== undefined) {
    // Give QEMU a moment to start the guest so the input arrives as typed text.
    await new Promise((r) => setTimeout(r, c.inputDelayMs ?? 300));
    await writer.write(new TextEncoder().encode(c.input));
  }
  await writer.close().catch(() => {});
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const dec = new TextDecoder();
  let out = "";
  let stopped = false;
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk, { stream: true });
    if (c.lines !== undefined && out.split("\n").length > c.lines) {
      out = out.split("\n").slice(0, c.lines).join("\n") + "\n";
      stopped = true;
      child.kill("SIGTERM");
      break;
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  return { out, code: stopped ? null : status.code };
}

async function main(): Promise<number> {
  const check = Deno.args.includes("--check");
  const names = Deno.args.filter((a) => !a.startsWith("--"));
  try {
    await new Deno.Command(QEMU, { args: ["--version"], stdout: "null" }).output();
  } catch {
    console.error(`error: ${QEMU} not found (apt-get install qemu-system-misc)`);
    return 1;
  }
  let failed = 0;
  for (const c of CASES) {
    if (names.length > 0 && !names.includes(c.name)) continue;
    const problems: string[] = [];
    const runs = [];
    for (const mem of ["16M", "128M"]) {
      const r = await runQemu(c, mem);
      runs.push(r);
      if (c.lines === undefined && r.code !== c.exit) {
        problems.push(`-m ${mem}: exit ${r.code}, expected ${c.exit}`);
      }
      if (c.lines !== undefined && r.code !== null) {
        problems.push(`-m ${mem}: exited (${r.code}) before ${c.lines} lines`);
      }
      for (const line of c.expect) {
        if (!r.out.includes(line)) problems.push(`-m ${mem}: missing "${line}"`);
      }
    }
    if (maskRtc(runs[0].out) !== maskRtc(runs[1].out)) {
      problems.push("output differs between -m 16M and -m 128M");
    }
    const file = `${here}expected/${c.name}.qemu.txt`;
    if (check) {
      const saved = await Deno.readTextFile(file).catch(() => "");
      if (maskRtc(saved) !== maskRtc(runs[1].out)) problems.push(`differs from ${file}`);
    } else {
      await Deno.mkdir(`${here}expected`, { recursive: true });
      await Deno.writeTextFile(file, runs[1].out);
    }
    const how = c.lines !== undefined ? `first ${c.lines} lines` : `exit ${runs[1].code}`;
    if (problems.length > 0) {
      failed++;
      console.log(`FAIL ${c.name}: ${problems.join("; ")}`);
    } else {
      console.log(`ok   ${c.name} (${how})`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}
