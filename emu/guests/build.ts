/**
 * Builds the snapshell guest programs into emu/guests/build/<name>.elf.
 *
 * Usage: deno run --allow-read --allow-write --allow-run emu/guests/build.ts [name...]
 *
 * Needs Debian's riscv64-unknown-elf-gcc (package gcc-riscv64-unknown-elf). The ELFs keep
 * their symbol table (config words, entry points) but no DWARF debug info.
 */

const CROSS = "riscv64-unknown-elf-";

const CFLAGS = [
  "-march=rv32ima_zicsr_zifencei",
  "-mabi=ilp32",
  "-mcmodel=medany",
  "-O2",
  "-g0",
  "-nostdlib",
  "-nostartfiles",
  "-ffreestanding",
  "-fno-builtin",
  "-fno-tree-loop-distribute-patterns",
  "-fno-common",
  "-fno-pic",
  "-static",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wl,--build-id=none",
  "-Wl,--no-warn-rwx-segments",
];

interface Guest {
  name: string;
  /** Source file in src/ (without directory). */
  src: string;
  /** Extra runtime sources from rt/ besides crt0.S and rt.c. */
  extra?: string[];
  defines?: string[];
}

export const GUESTS: Guest[] = [
  { name: "hello", src: "hello.c" },
  { name: "timer", src: "timer.c" },
  { name: "uart-echo", src: "uart-echo.c" },
  { name: "nvme", src: "nvme.c", extra: ["nvme.c"] },
  { name: "memwriter", src: "memwriter.c" },
  { name: "compute", src: "compute.c" },
  { name: "compute-small", src: "compute.c", defines: ["COMPUTE_ITERATIONS=8"] },
  { name: "compute-paged", src: "compute.c", extra: ["paging.c"], defines: ["COMPUTE_PAGED"] },
  { name: "demo", src: "demo.c", extra: ["nvme.c"] },
  { name: "virt-probe", src: "virt-probe.c" },
];

const here = new URL(".", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(
      `${cmd} ${args.join(" ")} failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
    );
  }
}

async function haveTool(tool: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(tool, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function buildGuest(g: Guest): Promise<number> {
  const out = `${here}build/${g.name}.elf`;
  const srcs = [
    `${here}rt/crt0.S`,
    `${here}rt/rt.c`,
    ...(g.extra ?? []).map((f) => `${here}rt/${f}`),
    `${here}src/${g.src}`,
  ];
  const args = [
    ...CFLAGS,
    `-I${here}rt`,
    ...(g.defines ?? []).map((d) => `-D${d}`),
    "-T",
    `${here}link.ld`,
    ...srcs,
    "-o",
    out,
  ];
  await run(`${CROSS}gcc`, args);
  // Keep .symtab (config words such as timer_ticks), drop any debug info and the .comment note.
  await run(`${CROSS}objcopy`, ["--strip-debug", "--remove-section=.comment", out]);
  return (await Deno.stat(out)).size;
}

async function main(): Promise<number> {
  for (const tool of [`${CROSS}gcc`, `${CROSS}objcopy`]) {
    if (!(await haveTool(tool))) {
      console.error(
        `error: ${tool} not found. Install the RISC-V cross compiler, e.g. ` +
          "`apt-get install gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf`.",
      );
      return 1;
    }
  }
  const wanted = Deno.args;
  const unknown = wanted.filter((n) => !GUESTS.some((g) => g.name === n));
  if (unknown.length > 0) {
    console.error(`error: unknown guest(s): ${unknown.join(", ")}`);
    console.error(`known: ${GUESTS.map((g) => g.name).join(", ")}`);
    return 1;
  }
  await Deno.mkdir(`${here}build`, { recursive: true });
  let failed = 0;
  for (const g of GUESTS) {
    if (wanted.length > 0 && !wanted.includes(g.name)) continue;
    try {
      const size = await buildGuest(g);
      console.log(`built build/${g.name}.elf (${size} bytes)`);
    } catch (e) {
      failed++;
      console.error(`error building ${g.name}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}
