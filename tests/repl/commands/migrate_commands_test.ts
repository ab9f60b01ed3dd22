/**
 * The migration commands, in-process (file:, exec:, parameters, status, give-up and force, bad
 * input) and between two real snapshell processes on loopback: the destination's console
 * carries on exactly where the source's stopped, and a connection dropped mid-stream leaves the
 * source running and the destination without a half-loaded machine. Ctrl-C (the session's
 * cancel) stops migrate and incoming cleanly; progress bars draw on a terminal only.
 */
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadMachineFile, saveMachineFile } from "../../../emu/snapshot_file.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";
import { precopy } from "../../../harness/migration/precopy.ts";
import { runCommandLine } from "../../../repl/cli.ts";
import { allCommands } from "../../../repl/commands/mod.ts";
import { migrationOf } from "../../../repl/commands/migrate_commands.ts";
import { type ProgressFactory, terminalProgress } from "../../../repl/progress.ts";
import type { ShellContext } from "../../../repl/session.ts";
import { fingerprint, memoryOutgoing, memwriter } from "../../harness/migration/_guest.ts";
import { captureContext } from "../_io.ts";
import { snapshell } from "./_processes.ts";

const defs = allCommands();
const SLOW = { regionPages: 256, pagesPerRound: 16, delay: 20000, reportEvery: 4 };
const FAST = { ...SLOW, delay: 2000 };

function run(ctx: ShellContext, ...words: string[]): Promise<number> {
  return runCommandLine(defs, ctx, words);
}

/** A context whose session runs a started memwriter guest. */
function memwriterContext(cfg = SLOW) {
  const ctx = captureContext();
  const m = memwriter(cfg);
  m.run(2_000_000);
  ctx.session.install(m);
  return ctx;
}

function withoutConsole(m: VirtMachine) {
  const { console: _, ...rest } = fingerprint(m);
  return rest;
}

function lastJson(text: string): Record<string, unknown> {
  const line = text.split("\n").reverse().find((l) => l.startsWith("{"));
  ok(line, `no JSON line in:\n${text}`);
  return JSON.parse(line);
}

/** A memwriter guest migrated to `file:DIR/vm.qemu` in a temporary DIR, handed to `fn`. */
async function withMigratedFile(
  fn: (file: string, src: ReturnType<typeof memwriterContext>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext();
    strictEqual(await run(src, "migrate", `file:${dir}/vm.qemu`), 0, src.errText());
    await fn(`${dir}/vm.qemu`, src);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("incoming --prealloc receives into a machine made before the stream; a size mismatch keeps the current one", () =>
  withMigratedFile(async (file, src) => {
    const ram = src.session.machine.ram.size;
    const dst = captureContext();
    const before = dst.session.machine;
    strictEqual(
      await run(dst, "incoming", `file:${file}`, "--ram", `${ram}`, "--prealloc", "--json"),
      0,
      dst.errText(),
    );
    const out = lastJson(dst.outText());
    strictEqual(out.ok, true);
    strictEqual(out.ramBytes, ram);
    notStrictEqual(dst.session.machine, before);
    deepStrictEqual(withoutConsole(dst.session.machine), withoutConsole(src.session.machine));

    const kept = dst.session.machine;
    strictEqual(
      await run(dst, "incoming", `file:${file}`, "--ram", `${ram * 2}`, "--prealloc"),
      2,
    );
    ok(
      /holds \d+ bytes of RAM, not the \d+ of --ram: nothing was preallocated/.test(dst.errText()),
      dst.errText(),
    );
    strictEqual(dst.session.machine, kept, "the current machine stays after a rejected stream");
  }));

Deno.test("incoming --run is a session run: stopping it (Ctrl-C) keeps the loaded machine", () =>
  withMigratedFile(async (file) => {
    const dst = captureContext();
    const pending = run(dst, "incoming", `file:${file}`, "--run", "1000000000", "--json");
    while (!dst.session.active) await new Promise((r) => setTimeout(r, 1));
    const loaded = dst.session.active.machine;
    await dst.session.stopRun(); // what the shell does on Ctrl-C while the guest runs
    strictEqual(await pending, 130);
    const out = lastJson(dst.outText());
    strictEqual(out.interrupted, true);
    ok(Number(out.ran) < 1_000_000_000, `ran ${out.ran}`);
    strictEqual(dst.session.machine, loaded, "the loaded machine stays installed");
    strictEqual(dst.session.active, undefined);
  }));

Deno.test("migrate file: then incoming file: moves the guest into a fresh machine", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext();
    strictEqual(await run(src, "migrate", `file:${dir}/vm.qemu`), 0, src.errText());
    ok(/^round 0 \(full pass\): 4096 pages/m.test(src.outText()), src.outText());
    ok(
      /migrate: completed to file:.*vm\.qemu: \d+ bytes in \d+ rounds?, downtime/.test(
        src.outText(),
      ),
    );
    const dst = captureContext();
    const before = dst.session.machine;
    strictEqual(await run(dst, "incoming", `file:${dir}/vm.qemu`, "--run", "3M"), 0, dst.errText());
    notStrictEqual(dst.session.machine, before, "the session's machine was replaced");
    ok(/incoming: loaded \d+ bytes \(\d+ sections\) from file:/.test(dst.outText()));
    ok(/memwriter: round \d+, \d+ pages written/.test(dst.rawText()), dst.rawText());
    ok(/incoming: ran 3000000 cycles \(\d+ instructions retired\)/.test(dst.outText()));
    ok(!dst.rawText().includes("CORRUPTION"));

    strictEqual(await run(src, "migrate-status"), 0);
    ok(/Migration status: completed/.test(src.outText()));
    ok(/converged: yes/.test(src.outText()));
    src.clear();
    strictEqual(await run(src, "migrate-status", "--json"), 0);
    const status = lastJson(src.outText());
    strictEqual(status.state, "completed");
    strictEqual(status.switchoverInstret, src.session.machine.cpu.instret);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate exec: into a command and incoming exec: from one, with --json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext();
    strictEqual(await run(src, "migrate", `exec:gzip -1 > '${dir}/vm.gz'`, "--json"), 0);
    strictEqual(lastJson(src.outText()).state, "completed");
    const dst = captureContext();
    strictEqual(
      await run(dst, "incoming", `exec:gzip -dc '${dir}/vm.gz'`, "--json"),
      0,
      dst.errText(),
    );
    const got = lastJson(dst.outText());
    strictEqual(got.ok, true);
    strictEqual(got.ran, null);
    strictEqual(got.ramBytes, 16 << 20);
    deepStrictEqual(withoutConsole(dst.session.machine), withoutConsole(src.session.machine));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate-set-parameters shows, changes and checks the session's parameters", async () => {
  const ctx = captureContext();
  strictEqual(await run(ctx, "migrate-set-parameters"), 0);
  ok(ctx.outText().includes(`max-bandwidth: ${DEFAULT_PARAMETERS.maxBandwidth} bytes/second`));
  ok(ctx.outText().includes("downtime-limit: 300 ms"));
  ctx.clear();
  strictEqual(
    await run(
      ctx,
      "migrate-set-parameters",
      "--max-bandwidth",
      "1G",
      "--downtime-limit",
      "50",
      "--max-rounds",
      "4",
      "--on-no-convergence",
      "force",
      "--json",
    ),
    0,
  );
  deepStrictEqual(JSON.parse(ctx.outText()), {
    maxBandwidth: 1 << 30,
    downtimeLimitMs: 50,
    maxRounds: 4,
    onNoConvergence: "force",
    xbzrleCacheSize: 64 << 20,
    cpuThrottleInitial: 20,
    cpuThrottleIncrement: 10,
    maxCpuThrottle: 99,
    postcopyAfterRounds: 0,
  });
  for (
    const bad of [
      ["--max-bandwidth", "fast"],
      ["--downtime-limit", "-3"],
      ["--on-no-convergence", "maybe"],
      ["--xbzrle-cache-size", "100"],
      ["--cpu-throttle-initial", "0"],
      ["--cpu-throttle-increment", "100"],
      ["--max-cpu-throttle", "10"],
    ]
  ) {
    ctx.clear();
    strictEqual(await run(ctx, "migrate-set-parameters", ...bad), 2, bad.join(" "));
    ok(/Usage error/.test(ctx.errText()), ctx.errText());
  }
  strictEqual(await run(ctx, "migrate", "vm.qemu"), 2);
  ok(/Invalid migration URI "vm.qemu"/.test(ctx.errText()));
  strictEqual(await run(ctx, "migrate", "file:x", "--force", "--give-up"), 2);
  ctx.clear();
  strictEqual(await run(ctx, "migrate-status"), 0);
  ok(/Migration status: none/.test(ctx.outText()));
});

Deno.test("migrate gives up when precopy cannot converge: exit 1, no file, the guest still here", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = memwriterContext(FAST);
    const machine = ctx.session.machine;
    const code = await run(
      ctx,
      "migrate",
      `file:${dir}/vm.qemu`,
      "--max-bandwidth",
      "32M",
      "--downtime-limit",
      "1",
      "--max-rounds",
      "2",
    );
    strictEqual(code, 1);
    ok(
      /migrate: gave up: precopy did not converge in 3 rounds.*the guest keeps running here/
        .test(ctx.errText()),
      ctx.errText(),
    );
    strictEqual(ctx.session.machine, machine);
    deepStrictEqual([...Deno.readDirSync(dir)], [], "no file, not even a temporary one");
    ctx.clear();
    strictEqual(await run(ctx, "migrate-status"), 0);
    ok(/Migration status: cancelled \(gave up\)/.test(ctx.outText()));
    ctx.clear();
    const forced = await run(
      ctx,
      "migrate",
      `file:${dir}/vm.qemu`,
      "--max-bandwidth",
      "32M",
      "--downtime-limit",
      "1",
      "--max-rounds",
      "2",
      "--force",
    );
    strictEqual(forced, 0, ctx.errText());
    ok(/switch-over forced without converging/.test(ctx.outText()));
    ok(Deno.statSync(`${dir}/vm.qemu`).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("incoming of a damaged stream fails with the typed error and keeps the current machine", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext();
    strictEqual(await run(src, "migrate", `file:${dir}/vm.qemu`), 0);
    const bytes = await Deno.readFile(`${dir}/vm.qemu`);
    await Deno.writeFile(`${dir}/cut.qemu`, bytes.subarray(0, bytes.length - 5000));
    const dst = memwriterContext();
    const machine = dst.session.machine;
    const before = fingerprint(machine);
    strictEqual(await run(dst, "incoming", `file:${dir}/cut.qemu`), 1);
    ok(/StreamTruncatedError \[corrupt\]: Stream ends early/.test(dst.errText()), dst.errText());
    strictEqual(dst.session.machine, machine);
    deepStrictEqual(fingerprint(machine), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate over tcp to a peer that drops the connection fails and the guest keeps running", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = (async () => {
    const conn = await listener.accept();
    listener.close();
    await conn.read(new Uint8Array(65536));
    conn.close(); // gone mid-stream
  })();
  const ctx = memwriterContext();
  const machine = ctx.session.machine;
  const code = await run(ctx, "migrate", `tcp:127.0.0.1:${listener.addr.port}`);
  await peer;
  strictEqual(code, 1);
  ok(/migrate: failed, the guest keeps running here/.test(ctx.errText()), ctx.errText());
  ok(/TransportError \[environment\]/.test(ctx.errText()), ctx.errText());
  strictEqual(ctx.session.machine, machine);
  strictEqual(machine.ramSection.saving, false);
  machine.run(2_000_000);
  ok(!machine.consoleText.includes("CORRUPTION"));
});

// ---- two processes -------------------------------------------------------------------------

/** A memwriter snapshot to start the source from. */
async function snapshotFile(dir: string): Promise<string> {
  const m = memwriter(SLOW);
  m.run(2_000_000);
  const path = `${dir}/start.qemu`;
  await saveMachineFile(m, path);
  return path;
}

Deno.test("two processes over tcp: the destination's console carries on where the source's stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const snap = await snapshotFile(dir);
    const dst = snapshell(dir, "incoming tcp:127.0.0.1:0 --timeout 60 --run 5M --json\n");
    const port = (await dst.waitFor(/incoming: listening on tcp:127\.0\.0\.1:(\d+)/))[1];
    const migrate = `migrate tcp:127.0.0.1:${port} --max-bandwidth 256M --downtime-limit 10 --json`;
    const src = snapshell(dir, `incoming file:${snap}\n${migrate}\n`);
    const [s, d] = await Promise.all([src.done(), dst.done()]);
    strictEqual(s.code, 0, s.err);
    strictEqual(d.code, 0, d.err);
    const sent = lastJson(s.out);
    const got = lastJson(d.out);
    strictEqual(sent.state, "completed");
    strictEqual(got.ok, true);
    strictEqual(got.bytes, sent.bytes);

    // The same migration in this process is deterministic: same rounds, same switch-over.
    const reference = new VirtMachine({ ramSize: 16 << 20 });
    await loadMachineFile(reference, snap);
    const mem = memoryOutgoing();
    const status = await precopy(reference, mem, "mem:", {
      ...DEFAULT_PARAMETERS,
      maxBandwidth: 256 << 20,
      downtimeLimitMs: 10,
    });
    strictEqual(status.switchoverInstret, sent.switchoverInstret);
    strictEqual(status.bytes, sent.bytes);
    // Had the source carried on, it would have printed exactly what the destination printed.
    const before = reference.consoleText.length;
    reference.run(5_000_000);
    const continued = reference.consoleText.slice(before);
    ok(continued.length > 0 && /memwriter: round \d+/.test(continued), continued);
    strictEqual(got.console, continued);
    ok(!String(got.console).includes("CORRUPTION"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes: a connection dropped mid-stream fails both sides cleanly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const snap = await snapshotFile(dir);
    const bytes = await Deno.readFile(snap);
    // Destination: the test sends half a stream and hangs up.
    const dst = snapshell(dir, "incoming tcp:127.0.0.1:0 --timeout 60\n");
    const port = Number((await dst.waitFor(/listening on tcp:127\.0\.0\.1:(\d+)/))[1]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(bytes.subarray(0, bytes.length >> 1));
    conn.close();
    const d = await dst.done();
    strictEqual(d.code, 1);
    ok(/StreamTruncatedError \[corrupt\]: Stream ends early.*byte \d+/.test(d.err), d.err);
    ok(!d.out.includes("incoming: loaded"), d.out);

    // Source: the test accepts, reads a little and hangs up.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const peer = (async () => {
      const c = await listener.accept();
      listener.close();
      await c.read(new Uint8Array(4096));
      c.close();
    })();
    const src = snapshell(
      dir,
      `incoming file:${snap}\nmigrate tcp:127.0.0.1:${listener.addr.port}\n`,
    );
    const s = await src.done();
    await peer;
    strictEqual(s.code, 1);
    ok(/migrate: failed, the guest keeps running here/.test(s.err), s.err);
    ok(/TransportError \[environment\]/.test(s.err), s.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate pauses a background run: it resumes after giving up, not after a switch-over", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = memwriterContext(FAST);
    ctx.session.startRun({ kind: "forever" }, true);
    const tight = ["--max-bandwidth", "32M", "--downtime-limit", "1", "--max-rounds", "1"];
    strictEqual(await run(ctx, "migrate", `file:${dir}/a.qemu`, ...tight), 1);
    ok(ctx.session.active?.background, "the source's background run goes on");
    strictEqual(await run(ctx, "migrate", `file:${dir}/b.qemu`, ...tight, "--force"), 0);
    strictEqual(ctx.session.active, undefined, "the migrated source stays stopped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- cancelling (Ctrl-C) and progress ------------------------------------------------------

/** A progress factory that records every update and calls `hook` with it. */
function recordingProgress(hook: (label: string, done: number, note?: string) => void) {
  const updates: string[] = [];
  const factory: ProgressFactory = (label) => ({
    update(done, _total, note) {
      updates.push(`${label} ${done} ${note ?? ""}`);
      hook(label, done, note);
    },
    done() {},
  });
  return { factory, updates };
}

Deno.test("Ctrl-C cancels migrate: exit 130, no file, the source as if it never migrated", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = memwriterContext(FAST);
    const machine = ctx.session.machine;
    // Ctrl-C as the shell delivers it, at a deterministic point: round 1 starts sending.
    const progress = recordingProgress((_label, _done, note) => {
      if (note?.includes("round 1")) ctx.session.cancelOperation();
    });
    ctx.progress = progress.factory;
    const tight = ["--max-bandwidth", "32M", "--downtime-limit", "1", "--max-rounds", "10"];
    const code = await run(ctx, "migrate", `file:${dir}/vm.qemu`, ...tight);
    strictEqual(code, 130, ctx.errText());
    ok(
      /^migrate: cancelled \(cancelled in round 1\); the transport was dropped and the guest keeps running here$/m
        .test(ctx.errText()),
      ctx.errText(),
    );
    ok(/^round 0 \(full pass\)/m.test(ctx.outText()));
    ok(!/^round 1/m.test(ctx.outText()), "round 1 never finished");
    deepStrictEqual([...Deno.readDirSync(dir)], [], "no file, not even a temporary one");
    strictEqual(ctx.session.machine, machine);
    strictEqual(ctx.session.cancellableRunning, false);

    ctx.clear();
    strictEqual(await run(ctx, "migrate-status", "--json"), 0);
    const status = lastJson(ctx.outText());
    strictEqual(status.state, "cancelled");
    strictEqual(status.interrupted, true);
    // The guest ran exactly what the migration let it run, nothing was lost or added.
    const ref = memwriter(FAST);
    ref.run(2_000_000);
    ref.run(Number(status.guestInsns));
    deepStrictEqual(fingerprint(machine), fingerprint(ref));
    ctx.clear();
    strictEqual(await run(ctx, "migrate-status"), 0);
    ok(/Migration status: cancelled \(interrupted\)/.test(ctx.outText()), ctx.outText());

    // The session goes on: the next migration completes.
    ctx.progress = undefined;
    strictEqual(await run(ctx, "migrate", `file:${dir}/vm.qemu`), 0, ctx.errText());
    ok(Deno.statSync(`${dir}/vm.qemu`).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C during migrate resumes the background run it paused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = memwriterContext(FAST);
    ctx.session.startRun({ kind: "forever" }, true);
    ctx.progress = recordingProgress((_l, _d, note) => {
      if (note?.includes("guest running")) ctx.session.cancelOperation();
    }).factory;
    const code = await run(ctx, "migrate", `file:${dir}/vm.qemu`, "--max-bandwidth", "32M");
    strictEqual(code, 130, ctx.errText());
    ok(ctx.session.active?.background, "the source's background run goes on");
    await ctx.session.stopRun();
    deepStrictEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C cancels incoming while it waits: the listener is closed, nothing changes", async () => {
  const ctx = memwriterContext();
  const machine = ctx.session.machine;
  const before = fingerprint(machine);
  let port = 0;
  const out = ctx.io.out;
  ctx.io.out = (line) => {
    out(line);
    const m = /incoming: listening on tcp:127\.0\.0\.1:(\d+)/.exec(line);
    if (m) {
      port = Number(m[1]);
      ctx.session.cancelOperation(); // Ctrl-C while it waits for a connection
    }
  };
  strictEqual(await run(ctx, "incoming", "tcp:127.0.0.1:0"), 130, ctx.errText());
  ok(
    /incoming: cancelled; nothing was loaded and the current machine is unchanged/.test(
      ctx.errText(),
    ),
  );
  ok(port > 0);
  Deno.listen({ hostname: "127.0.0.1", port }).close(); // the port is free again
  strictEqual(ctx.session.machine, machine);
  deepStrictEqual(fingerprint(machine), before);
});

Deno.test("progress bars: migrate, incoming, snapshot and check draw on a terminal only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const tty of [true, false]) {
      const chunks: string[] = [];
      const stream = { isTTY: tty, columns: 200, write: (t: string) => (chunks.push(t), true) };
      const progress = terminalProgress({ stream, delayMs: 0 });
      const src = memwriterContext();
      src.progress = progress;
      strictEqual(await run(src, "migrate", `file:${dir}/vm.qemu`, "--downtime-limit", "10"), 0);
      const dst = captureContext();
      dst.progress = progress;
      strictEqual(await run(dst, "incoming", `file:${dir}/vm.qemu`), 0, dst.errText());
      strictEqual(await run(dst, "snapshot", `${dir}/s.qemu`, "--ram", "16M"), 0);
      strictEqual(await run(dst, "check", `${dir}/s.qemu`), 0);
      const text = chunks.join("");
      if (!tty) {
        strictEqual(text, "", "silent off a terminal");
        continue;
      }
      ok(/migrate \[.*\] \d+% \d+\/4096 pages, round 0, /.test(text), text);
      ok(/stop-and-copy/.test(text), text);
      ok(/incoming \[.*\] \d+% /.test(text), text);
      ok(text.includes(`snapshot ${dir}/s.qemu [`), text);
      ok(text.includes(`check ${dir}/s.qemu [`), text);
      ok(!new RegExp(`${String.fromCharCode(27)}\\[[\\d;]*m`).test(text), "no colours");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a forced switch-over past the downtime limit warns, in the text and in --json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext();
    const uri = `file:${dir}/vm.qemu`;
    const args = ["--max-bandwidth", "64M", "--downtime-limit", "1", "--max-rounds", "0"];
    strictEqual(await run(src, "migrate", uri, ...args, "--force", "--json"), 0, src.errText());
    const status = lastJson(src.outText());
    strictEqual(status.state, "completed");
    const warnings = status.warnings as string[];
    strictEqual(warnings.length, 1);
    ok(/downtime [\d.]+ ms exceeded the limit of 1 ms \(switch-over forced\)/.test(warnings[0]));
    ok(src.errText().includes(`migrate: warning: ${warnings[0]}`), src.errText());
    strictEqual(await run(src, "run", "10"), 2, "the source is in postmigrate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("xbzrle from the shell: capability and parameter, status figures, a loadable stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = memwriterContext({
      regionPages: 32,
      pagesPerRound: 16,
      delay: 2000,
      reportEvery: 64,
    });
    strictEqual(await run(src, "set", "capability", "xbzrle", "on"), 0, src.errText());
    ok(/capability xbzrle: on/.test(src.outText()), src.outText());
    strictEqual(
      await run(src, "migrate-set-parameters", "--xbzrle-cache-size", "1M"),
      0,
      src.errText(),
    );
    strictEqual(await run(src, "migrate-set-parameters", "--xbzrle-cache-size", "3M"), 2);
    ok(/xbzrle-cache-size: 3145728 is not a power of two/.test(src.errText()), src.errText());
    strictEqual(await run(src, "set", "capability", "postcopy-ram", "on"), 0, src.errText());
    strictEqual(await run(src, "set", "capability", "postcopy-ram", "off"), 0, src.errText());
    src.clear();
    strictEqual(await run(src, "capabilities", "--json"), 0);
    const caps = JSON.parse(src.outText()) as { name: string; on: boolean }[];
    deepStrictEqual(caps.filter((c) => c.on).map((c) => c.name), ["xbzrle"]);
    src.clear();
    const file = `${dir}/vm.qemu`;
    const code = await run(
      src,
      ...[
        "migrate",
        `file:${file}`,
        "--downtime-limit",
        "0",
        "--max-rounds",
        "4",
        "--force",
        "--json",
      ],
    );
    strictEqual(code, 0, src.errText());
    const status = lastJson(src.outText());
    deepStrictEqual(status.capabilities, ["xbzrle"]);
    const x = status.xbzrle as { cacheSize: number; pages: number };
    strictEqual(x.cacheSize, 1 << 20);
    ok(x.pages > 0, JSON.stringify(x));
    src.clear();
    strictEqual(await run(src, "migrate-status"), 0);
    ok(/capabilities: xbzrle/.test(src.outText()), src.outText());
    ok(/xbzrle: cache 1048576 bytes, \d+ pages in \d+ bytes/.test(src.outText()), src.outText());

    const dst = captureContext();
    strictEqual(await run(dst, "incoming", `file:${file}`, "--run", "3M"), 0, dst.errText());
    deepStrictEqual(withoutConsole(dst.session.machine as VirtMachine).ram.length, 16 << 20);
    ok(!dst.rawText().includes("CORRUPTION"), dst.rawText());
    strictEqual(await run(dst, "inspect", file), 0, dst.errText());
    ok(/xbzrle/.test(dst.outText()), dst.outText());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Wait (bounded) until `cond` holds, giving the detached migration turns meanwhile. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  ok(cond(), `timed out waiting for ${what}`);
}

Deno.test("pause-before-switchover: migrate -d stops in pre-switchover until migrate-continue", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = { ...memwriterContext(), interactive: true };
    strictEqual(await run(src, "set", "capability", "pause-before-switchover", "on"), 0);
    strictEqual(await run(src, "migrate", `file:${dir}/vm.qemu`), 2);
    ok(/use migrate -d, then migrate-continue pre-switchover/.test(src.errText()), src.errText());
    strictEqual(await run(src, "migrate-continue"), 2, "nothing to continue yet");
    ok(/Migration not in expected state: none/.test(src.errText()), src.errText());
    strictEqual(
      await run(src, "migrate", "-d", `file:${dir}/vm.qemu`, "--downtime-limit", "50"),
      0,
      src.errText(),
    );
    const mig = migrationOf(src.session);
    await until(() => mig.last?.state === "pre-switchover", "pre-switchover");
    ok(/paused in pre-switchover with the guest stopped/.test(src.outText()), src.outText());
    const instret = src.session.machine.cpu.instret;
    src.clear();
    strictEqual(await run(src, "migrate-status"), 0);
    ok(/Migration status: pre-switchover/.test(src.outText()), src.outText());
    ok(/migrate-continue pre-switchover completes it/.test(src.outText()));
    strictEqual(src.session.machine.cpu.instret, instret, "the guest is stopped meanwhile");
    strictEqual(await run(src, "migrate-continue", "pre-switchover"), 0, src.errText());
    strictEqual(await mig.detached?.done ?? 0, 0);
    strictEqual(mig.last?.state, "completed");
    const dst = captureContext();
    strictEqual(await run(dst, "incoming", `file:${dir}/vm.qemu`, "--run", "2M"), 0, dst.errText());
    ok(!dst.rawText().includes("CORRUPTION"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes over tcp with auto-converge: throttled rounds converge where plain precopy gives up", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = memwriter({ regionPages: 1024, pagesPerRound: 16, delay: 12000, reportEvery: 64 });
    m.run(10_000_000);
    const snap = `${dir}/heavy.qemu`;
    await saveMachineFile(m, snap);
    const link = "--max-bandwidth 64M --downtime-limit 40 --max-rounds 14 --json";
    const plain = snapshell(dir, `incoming file:${snap}\nmigrate file:${dir}/plain.qemu ${link}\n`);
    const p = await plain.done();
    strictEqual(p.code, 1, "plain precopy gives up");
    strictEqual(lastJson(p.out).state, "cancelled");

    const dst = snapshell(dir, "incoming tcp:127.0.0.1:0 --timeout 60 --run 3M --json\n");
    const port = (await dst.waitFor(/incoming: listening on tcp:127\.0\.0\.1:(\d+)/))[1];
    const src = snapshell(
      dir,
      `incoming file:${snap}\nset capability auto-converge on\nmigrate tcp:127.0.0.1:${port} ${link}\n`,
    );
    const [s, d] = await Promise.all([src.done(), dst.done()]);
    strictEqual(s.code, 0, s.err);
    strictEqual(d.code, 0, d.err);
    const sent = lastJson(s.out);
    strictEqual(sent.state, "completed");
    deepStrictEqual(sent.capabilities, ["auto-converge"]);
    ok((sent.throttlePercent as number) >= 20, String(sent.throttlePercent));
    const got = lastJson(d.out);
    strictEqual(got.bytes, sent.bytes);
    ok(!String(got.console).includes("CORRUPTION"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes over tcp with xbzrle: the destination takes the deltas and carries on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = memwriter({ regionPages: 1024, pagesPerRound: 16, delay: 12000, reportEvery: 64 });
    m.run(10_000_000);
    const snap = `${dir}/heavy.qemu`;
    await saveMachineFile(m, snap);
    const dst = snapshell(dir, "incoming tcp:127.0.0.1:0 --timeout 60 --run 3M --json\n");
    const port = (await dst.waitFor(/incoming: listening on tcp:127\.0\.0\.1:(\d+)/))[1];
    const src = snapshell(
      dir,
      `incoming file:${snap}\nset capability xbzrle on\n` +
        `migrate tcp:127.0.0.1:${port} --max-bandwidth 64M --downtime-limit 40 --json\n`,
    );
    const [s, d] = await Promise.all([src.done(), dst.done()]);
    strictEqual(s.code, 0, s.err);
    strictEqual(d.code, 0, d.err);
    const sent = lastJson(s.out);
    strictEqual(sent.state, "completed");
    ok((sent.xbzrle as { pages: number }).pages > 500, JSON.stringify(sent.xbzrle));
    const got = lastJson(d.out);
    strictEqual(got.bytes, sent.bytes);
    ok(/memwriter: round \d+/.test(String(got.console)), String(got.console));
    ok(!String(got.console).includes("CORRUPTION"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
