import { ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { qemuExitCode } from "../../../repl/commands/qemu_target.ts";
import { skip, tickerSeed } from "../../harness/fuzz/qemu/_seed.ts";
import { captureContext } from "../_io.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";

Deno.test({
  name: `check, replay and fuzz --target qemu load into a fresh QEMU and say what it did${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/seed.qemu`, bytes);
      await Deno.writeFile(`${dir}/cut.qemu`, bytes.subarray(0, 3000));
      const ctx = captureContext();
      const run = (...w: string[]) => runCommandLine(allCommands(), ctx, w);
      strictEqual(await run("check", `${dir}/seed.qemu`, "--target", "qemu", "--", ...argv), 0);
      ok(
        /QEMU \(qemu-system-riscv32\): accepted \(run\); the guest wrote \d+ console/.test(
          ctx.outText(),
        ),
        ctx.outText(),
      );
      ctx.clear();
      strictEqual(
        await run("replay", `${dir}/cut.qemu`, "--target", "qemu", "--json", "--", ...argv),
        1,
      );
      const j = JSON.parse(ctx.outText());
      strictEqual(j.class, "rejected");
      strictEqual(j.exit, "exit code 1");
      ctx.clear();
      // exec: QEMU reads the stream from a command's stdout; --cut-at truncates it there.
      const viaExec = ["--target", "qemu", "--qemu-incoming", "exec", "--json"];
      strictEqual(await run("replay", `${dir}/seed.qemu`, ...viaExec, "--", ...argv), 0);
      strictEqual(JSON.parse(ctx.outText()).class, "accepted", ctx.outText());
      ctx.clear();
      strictEqual(
        await run("replay", `${dir}/seed.qemu`, ...viaExec, "--cut-at", "4000", "--", ...argv),
        1,
      );
      const cut = JSON.parse(ctx.outText());
      strictEqual(cut.class, "rejected", ctx.outText());
      strictEqual(cut.sent, 4000);
      ctx.clear();
      const out = `${dir}/out`;
      strictEqual(
        await run(
          "fuzz",
          `${dir}/seed.qemu`,
          ...["--target", "qemu", "--iterations", "6", "--seed", "3", "--workers", "2"],
          ...["--out", out, "--", ...argv],
        ),
        0,
        ctx.errText(),
      );
      ok(/fuzz: 6 QEMU loads of .* runs\/s on 2 lanes/.test(ctx.outText()), ctx.outText());
      const file = JSON.parse(await Deno.readTextFile(`${out}/campaign.json`));
      strictEqual(file.target, "qemu");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("QEMU verdicts map to exit statuses: 0 accepted, 1 refused or stopped, 3 a QEMU bug", () => {
  strictEqual(qemuExitCode({ class: "accepted" }), 0);
  strictEqual(qemuExitCode({ class: "rejected" }), 1);
  strictEqual(qemuExitCode({ class: "stopped" }), 1);
  strictEqual(qemuExitCode({ class: "crashed" }), 3);
  strictEqual(qemuExitCode({ class: "hung" }), 3);
  strictEqual(qemuExitCode({ class: "no-start" }), 2);
});
