/**
 * Make the seeds of `fuzz --target qemu` with the installed QEMU 7.2 into a git-ignored cache
 * (`~/.cache/snapshell/qemu-seeds/`, or the directory given): the riscv32 virt ticker and the
 * x86_64 `pc` and `q35` machines with devices, all under `-icount` (verdicts in guest instructions,
 * not wall time). Each NAME.qemu comes with NAME.args, the QEMU command line that made it and loads
 * it, and NAME.opts, the `--guest-insns` budget that suits its guest. Existing seeds are kept
 * (every shard of a campaign must mutate the same base) unless `--force` is given:
 *
 *   deno run -A tools/qemu-fixtures/make-fuzz-seeds.ts [DIR] [--force]
 *   deno task cli fuzz DIR/x86_64-pc-devices.qemu --target qemu $(cat DIR/x86_64-pc-devices.opts) \
 *     -- $(cat DIR/x86_64-pc-devices.args)
 * @module
 */
import {
  makeSeed,
  riscvTickerSeed,
  type SeedSpec,
  x86Seeds,
} from "../../harness/fuzz/qemu/seeds.ts";
import { shellWord } from "../../harness/fuzz/qemu/campaign.ts";

const home = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
const dir = Deno.args.filter((a) => a !== "--force")[0] ?? `${home}/snapshell/qemu-seeds`;
await Deno.mkdir(dir, { recursive: true });
const seeds: SeedSpec[] = [riscvTickerSeed(dir), ...x86Seeds()];
const force = Deno.args.includes("--force");
for (const s of seeds) {
  const out = `${dir}/${s.name}.qemu`;
  if (!force && await Deno.stat(out).then(() => true, () => false)) {
    // A campaign's shards must all mutate the same base: an existing seed is kept.
    console.log(`${out}: kept (exists; --force makes it again)`);
    continue;
  }
  await makeSeed(s, dir, out);
  await Deno.writeTextFile(`${dir}/${s.name}.args`, s.argv.map(shellWord).join(" ") + "\n");
  const opts = s.guestInsns ? `--guest-insns ${s.guestInsns}\n` : "\n";
  await Deno.writeTextFile(`${dir}/${s.name}.opts`, opts);
  console.log(`${out}: ${(await Deno.stat(out)).size} bytes`);
}
