/**
 * postcopy-ram from the shell: `set capability postcopy-ram on`, `migrate -d` then
 * `migrate-start-postcopy` (and QEMU's `migrate_start_postcopy`), `migrate-status` in postcopy,
 * and two snapshell processes over tcp where the destination's console carries on exactly where
 * the source's stopped although the guest started there before its RAM had all arrived.
 */
import { ok, rejects, strictEqual } from "node:assert/strict";
import { loadMachineFile, saveMachineFile } from "../../../emu/snapshot_file.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";
import { precopy } from "../../../harness/migration/precopy.ts";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { expandAlias } from "../../../repl/aliases.ts";
import { migrationOf } from "../../../repl/commands/migrate_commands.ts";
import type { ShellContext } from "../../../repl/session.ts";
import { memoryOutgoing, memwriter } from "../../harness/migration/_guest.ts";
import { captureContext } from "../_io.ts";
import { snapshell } from "./_processes.ts";

const defs = allCommands();
const GUEST = { regionPages: 256, pagesPerRound: 16, delay: 2000, reportEvery: 4 };

/** One command line, QEMU's words expanded as the shell does. */
function run(ctx: ShellContext, ...words: string[]): Promise<number> {
  return runCommandLine(defs, ctx, expandAlias(words).words);
}

function lastJson(text: string): Record<string, unknown> {
  const line = text.split("\n").reverse().find((l) => l.startsWith("{"));
  ok(line, `no JSON line in:\n${text}`);
  return JSON.parse(line);
}

/** Wait (bounded) until `cond` holds, giving the migration turns meanwhile. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  ok(cond(), `timed out waiting for ${what}`);
}

Deno.test("migrate-start-postcopy needs the capability and a migration in progress", async () => {
  const ctx = captureContext();
  await rejects(
    run(ctx, "migrate-start-postcopy").then((c) => {
      if (c !== 0) throw new Error(ctx.errText());
    }),
    /Enable postcopy with migrate_set_capability/,
  );
  ctx.clear();
  strictEqual(await run(ctx, "set", "capability", "postcopy-ram", "on"), 0, ctx.errText());
  strictEqual(await run(ctx, "migrate_start_postcopy"), 2);
  ok(
    /Postcopy must be started after migration has been started/.test(ctx.errText()),
    ctx.errText(),
  );
});

Deno.test("migrate -d, then migrate-start-postcopy: the destination runs and the source stays stopped", async () => {
  const src = { ...captureContext(), interactive: true };
  const m = memwriter(GUEST);
  m.run(2_000_000);
  src.session.install(m);
  const dst = captureContext();
  const received = run(dst, "incoming", "tcp:127.0.0.1:0", "--timeout", "60", "--run", "2M");
  await until(() => /listening on tcp:127\.0\.0\.1:\d+/.test(dst.outText()), "the listener");
  const port = /listening on tcp:127\.0\.0\.1:(\d+)/.exec(dst.outText())![1];
  strictEqual(await run(src, "set", "capability", "postcopy-ram", "on"), 0, src.errText());
  const mig = migrationOf(src.session);
  strictEqual(
    await run(
      src,
      "migrate",
      "-d",
      `tcp:127.0.0.1:${port}`,
      "--downtime-limit",
      "0",
      "--max-rounds",
      "1000",
    ),
    0,
    src.errText(),
  );
  await until(() => (mig.last?.rounds.length ?? 0) >= 1, "a first round");
  strictEqual(await run(src, "migrate_start_postcopy"), 0, src.errText());
  strictEqual(await received, 0, dst.errText());
  await until(() => mig.detached === undefined, "the detached migration to end");
  strictEqual(mig.last?.state, "completed", String(mig.last?.reason));
  ok(mig.last?.postcopy, "it went to postcopy");
  ok(/switched to postcopy/.test(dst.outText()), dst.outText());
  ok(/postcopy completed: \d+ pages were missing/.test(dst.outText()), dst.outText());
  src.clear();
  strictEqual(await run(src, "info", "migrate"), 0);
  ok(/Migration status: completed/.test(src.outText()), src.outText());
  ok(/postcopy: \d+ page requests/.test(src.outText()), src.outText());
  // The source is in postmigrate: running it needs --force.
  strictEqual(await run(src, "run", "1000"), 2);
  ok(/postmigrate/.test(src.errText()), src.errText());
  ok(!(dst.session.machine as VirtMachine).consoleText.includes("CORRUPTION"));
});

Deno.test("two processes over tcp in postcopy: the destination's console carries on exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = memwriter(GUEST);
    m.run(2_000_000);
    const snap = `${dir}/start.qemu`;
    await saveMachineFile(m, snap);
    const dst = snapshell(dir, "incoming tcp:127.0.0.1:0 --timeout 60 --run 5M --json\n");
    const port = (await dst.waitFor(/incoming: listening on tcp:127\.0\.0\.1:(\d+)/))[1];
    const src = snapshell(
      dir,
      `incoming file:${snap}\nset capability postcopy-ram on\n` +
        `migrate tcp:127.0.0.1:${port} --max-bandwidth 256M --downtime-limit 0 ` +
        "--postcopy-after-rounds 2 --max-rounds 10 --json\n",
    );
    const [s, d] = await Promise.all([src.done(), dst.done()]);
    strictEqual(s.code, 0, s.err);
    strictEqual(d.code, 0, d.err);
    const sent = lastJson(s.out);
    const got = lastJson(d.out);
    strictEqual(sent.state, "completed");
    ok(sent.postcopy);
    strictEqual(got.ok, true);
    ok(got.postcopy, "the destination ran in postcopy");

    // The same switch-over in this process: precopy forced after the same two rounds.
    const reference = new VirtMachine({ ramSize: 16 << 20 });
    await loadMachineFile(reference, snap);
    const status = await precopy(reference, memoryOutgoing(), "mem:", {
      ...DEFAULT_PARAMETERS,
      maxBandwidth: 256 << 20,
      downtimeLimitMs: 0,
      maxRounds: 1,
      onNoConvergence: "force",
    });
    strictEqual(status.switchoverInstret, sent.switchoverInstret);
    const before = reference.consoleText.length;
    reference.run(5_000_000);
    const continued = reference.consoleText.slice(before);
    ok(/memwriter: round \d+/.test(continued), continued);
    strictEqual(got.console, continued);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate-cancel in postcopy-active refuses: the destination already runs the guest", async () => {
  const ctx = captureContext();
  const mig = migrationOf(ctx.session);
  const controller = new AbortController();
  mig.detached = { controller, done: Promise.resolve(0) };
  mig.last = { state: "postcopy-active" } as typeof mig.last;
  try {
    strictEqual(await run(ctx, "migrate_cancel"), 1);
    ok(/postcopy has started.*cannot be cancelled/.test(ctx.errText()), ctx.errText());
    ok(!controller.signal.aborted, "the migration was not aborted");
  } finally {
    mig.detached = undefined;
  }
});
