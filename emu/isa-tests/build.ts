/**
 * Rebuilds snapshell's own ISA test ELFs (emu/isa-tests/*.S) into
 * tests/fixtures/isa/*.elf with riscv64-unknown-elf-gcc.
 *
 *   deno run --allow-read --allow-write --allow-run emu/isa-tests/build.ts
 *
 * Every test also passes on QEMU 7.2 (HTIF exit status = the failing test, 0 = pass), which
 * is how their expectations were checked:
 *
 *   qemu-system-riscv32 -M spike -icount shift=0 -bios none -nographic -kernel X.elf \
 *     -cpu rv32,f=off,d=off,c=off,h=off,sstc=off,Zihintpause=off,zba=off,zbb=off,zbc=off,zbs=off
 *
 * @module
 */

const here = new URL(".", import.meta.url).pathname;
const out = new URL("../../tests/fixtures/isa/", import.meta.url).pathname;
const gcc = Deno.env.get("RISCV_GCC") ?? "riscv64-unknown-elf-gcc";
const FLAGS = [
  "-march=rv32ima_zicsr_zifencei",
  "-mabi=ilp32",
  "-nostdlib",
  "-nostartfiles",
  "-static",
  "-Wl,--no-warn-rwx-segments",
  "-Wl,--build-id=none",
  "-T",
  `${here}link.ld`,
];

Deno.mkdirSync(out, { recursive: true });
let failed = 0;
for (const e of [...Deno.readDirSync(here)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!e.name.endsWith(".S")) continue;
  const name = e.name.slice(0, -2);
  const cmd = new Deno.Command(gcc, {
    args: [...FLAGS, "-I", here, `${here}${e.name}`, "-o", `${out}${name}.elf`],
  });
  const r = cmd.outputSync();
  if (!r.success) {
    failed++;
    console.error(`${e.name}: build failed\n${new TextDecoder().decode(r.stderr)}`);
  } else {
    // Strip debug info but keep the symbol table (tests look up `tohost`).
    new Deno.Command("riscv64-unknown-elf-strip", { args: ["-g", `${out}${name}.elf`] })
      .outputSync();
    console.log(`built tests/fixtures/isa/${name}.elf`);
  }
}
if (failed > 0) Deno.exit(1);
