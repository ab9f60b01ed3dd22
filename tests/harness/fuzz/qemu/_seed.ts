/**
 * The riscv32 virt ticker seed of the QEMU fuzz tests, made once per test file with the installed
 * QEMU 7.2 (harness/fuzz/qemu/seeds.ts), and a check that no QEMU the tests started is left.
 */
import { qemuMissingReason } from "../../../../emu/guests/linux/qemu.ts";
import { makeSeed, riscvTickerSeed } from "../../../../harness/fuzz/qemu/seeds.ts";

/** Why the QEMU tests are ignored here (null: QEMU is installed). */
export const skip = await qemuMissingReason();

let made: { argv: string[]; bytes: Uint8Array } | undefined;

/** The seed's QEMU command line and stream (the ticker guest, 200 ms into its run). */
export async function tickerSeed(): Promise<{ argv: string[]; bytes: Uint8Array }> {
  if (!made) {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-qemu-seed-" });
    const spec = riscvTickerSeed(dir);
    await makeSeed(spec, dir, `${dir}/seed.qemu`);
    made = { argv: spec.argv, bytes: await Deno.readFile(`${dir}/seed.qemu`) };
    // The image stays: the command line names it (removed with the test machine's /tmp).
  }
  return made;
}

/**
 * QEMU processes this test process started that are still alive: their serial files are named
 * after our pid (harness/fuzz/qemu/process.ts), which keeps other runs' QEMUs out of the count.
 */
export async function snapshellQemus(pid = Deno.pid): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,stat=,args="] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    /qemu-system/.test(l) && l.includes(`/serial-${pid}-`) && !/^\s*\d+\s+Z/.test(l)
  );
}
