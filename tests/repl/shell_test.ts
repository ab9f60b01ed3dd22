import { AssertionError, fail, ok, rejects, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { PassThrough } from "node:stream";
import { runInteractive, runLine, runScript, SHELL_HELP } from "../../repl/shell.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { silentProgress } from "../../repl/progress.ts";
import { memwriter } from "../harness/migration/_guest.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { captureContext, demoContext } from "./_io.ts";
import { MAIN_PERMS, ROOT } from "../_main_process.ts";

const GUESTS = new URL("../../emu/guests/build/", import.meta.url).pathname;

Deno.test("runLine() treats blank lines and comments as no-ops and quit as the end", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "   "), 0);
  strictEqual(await runLine(allCommands(), ctx, "# note"), 0);
  strictEqual(await runLine(allCommands(), ctx, "quit"), "quit");
});

Deno.test("runLine() reports an unknown command without throwing", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "frobnicate now"), 2);
  ok(ctx.errText().includes("unknown command"), ctx.errText());
});

Deno.test("help and help CMD are generated from the definitions", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "help"), 0);
  for (const d of allCommands()) ok(ctx.outText().includes(d.name), d.name);
  const c2 = captureContext();
  strictEqual(await runLine(allCommands(), c2, "help run"), 0);
  ok(c2.outText().includes("--max-cycles"), c2.outText());
});

Deno.test("runScript() stops at the first failing line and names it", async () => {
  const ctx = captureContext();
  const script =
    `# a script\nrun ${GUESTS}hello.elf --ram 16M\nrun /nonexistent.elf\nrun ${GUESTS}hello.elf\n`;
  strictEqual(await runScript(allCommands(), ctx, script, "demo.snapshell"), 1);
  ok(ctx.errText().includes("demo.snapshell:3:"), ctx.errText());
  strictEqual(ctx.rawText(), "Hello from snapshell guest\n");
});

Deno.test("runScript(): a line that does not tokenize is a usage error naming the file and line", async () => {
  for (const line of ['save "oops', 'expect console contains "open']) {
    const ctx = captureContext();
    strictEqual(await runScript(allCommands(), ctx, `# x\n${line}\nregs\n`, "bad.snapshell"), 2);
    ok(/Unterminated/.test(ctx.errText()), ctx.errText());
    ok(ctx.errText().includes(`bad.snapshell:2: `), ctx.errText());
    ok(!/internal error|at tokenize/.test(ctx.errText()), ctx.errText());
  }
});

Deno.test("runScript() stops at the first failed expectation and names its line", async () => {
  const ctx = await demoContext();
  const script = [
    "# check the banner",
    'run until "heartbeat every"',
    'expect console contains "snapshell demo guest"',
    'expect console contains "no such text"',
    "regs",
  ].join("\n");
  strictEqual(await runScript(allCommands(), ctx, script, "check.snapshell"), 1);
  ok(
    ctx.errText().includes(
      'check.snapshell:4: expectation failed: expect console contains "no such text"',
    ),
  );
  ok(!ctx.outText().includes("x10/a0"), "the script stopped there");
});

Deno.test("runScript() goes to the end and quit ends it early with success", async () => {
  const ctx = await demoContext();
  strictEqual(await runScript(allCommands(), ctx, "step\nquit\nfrobnicate\n", "s"), 0);
  strictEqual(ctx.session.machine.cpu.instret, 1);
});

Deno.test("help lists the shell's own words", async () => {
  const ctx = captureContext();
  strictEqual(await runLine(allCommands(), ctx, "help"), 0);
  ok(ctx.outText().includes(SHELL_HELP.split("\n")[0]));
});

// ---------------------------------------------------------------------------------------------
// The real interactive shell in a pseudo-terminal (tmux), driven by keys.

/**
 * The shell command line for a tmux pane: `deno task repl`'s main.ts and permissions, with a
 * temporary HOME (history) and store; the pane stays open after the shell ends.
 */
async function shellCommand(home: string, store: string): Promise<string> {
  const deno = Deno.execPath();
  // The temporary HOME must not hide Deno's package cache.
  const info = await new Deno.Command(deno, { args: ["info", "--json"], stdout: "piped" })
    .output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  return `cd '${ROOT}' && HOME='${home}' DENO_DIR='${denoDir}' SNAPSHELL_STORE='${store}' ` +
    `NO_COLOR=1 '${deno}' run ${MAIN_PERMS.join(" ")} main.ts repl; ` +
    `echo "SHELL-ENDED rc=$?"; sleep 60`;
}
const hasTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

async function tmux(socket: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
    .output();
  if (!r.success) fail(`tmux ${args[0]} failed: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

/** Poll the pane (with its scrollback) until `pattern` shows, failing after `ms`. */
async function waitForPane(socket: string, pattern: RegExp, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let text = "";
  while (Date.now() < deadline) {
    text = await tmux(socket, "capture-pane", "-p", "-J", "-S", "-2000");
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return fail(`${pattern} did not appear; the pane shows:\n${text}`);
}

Deno.test({
  name: "the interactive shell: Tab completes, history recalls, Ctrl-C stops the guest",
  ignore: !hasTmux,
  async fn() {
    const socket = `snapshell-test-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
    const home = await Deno.makeTempDir();
    const store = await Deno.makeTempDir();
    await Deno.writeTextFile(`${home}/.snapshell_history`, "info machine\n");
    const cmd = await shellCommand(home, store);
    await tmux(socket, "new-session", "-d", "-x", "120", "-y", "40", cmd);
    try {
      await waitForPane(socket, /demo guest is paused at reset[\s\S]*snapshell>\s*$/m);
      // Tab completion of a command name.
      await tmux(socket, "send-keys", "reg", "Tab");
      await waitForPane(socket, /snapshell> regs$/m);
      await tmux(socket, "send-keys", "Enter");
      await waitForPane(socket, /x10\/a0/);
      // History: Up twice recalls the line saved by an earlier session.
      await tmux(socket, "send-keys", "Up", "Up");
      await waitForPane(socket, /snapshell> info machine$/m);
      await tmux(socket, "send-keys", "Enter");
      await waitForPane(socket, /snapshot store: /);
      // Run in the background, then Ctrl-C stops the guest and returns to the prompt.
      await tmux(socket, "send-keys", "run", "Enter");
      await waitForPane(socket, /demo: heartbeat 1 /);
      await tmux(socket, "send-keys", "C-c");
      await waitForPane(socket, /stopped after \d+ cycles \(\d+ instructions retired\); now pc 0x/);
      // Ctrl-C at the prompt does not end the session, and the shell is still usable.
      await tmux(socket, "send-keys", "C-c");
      await waitForPane(socket, /\^C \(type quit or press Ctrl-D to leave\)/);
      await tmux(socket, "send-keys", "expect console contains 'heartbeat 1 '", "Enter");
      await waitForPane(socket, /ok: console contains "heartbeat 1 "/);
      await tmux(socket, "send-keys", "info machine", "Enter");
      await waitForPane(socket, /paused: pc 0x/);
      await tmux(socket, "send-keys", "quit", "Enter");
      await waitForPane(socket, /SHELL-ENDED rc=0/);
      const history = await Deno.readTextFile(`${home}/.snapshell_history`);
      ok(history.includes("regs\n") && history.endsWith("quit\n"), history);
    } finally {
      await tmux(socket, "kill-server").catch(() => {});
    }
  },
});

Deno.test({
  name: "the interactive shell: migrate -d returns the prompt; status, parameters and cancel " +
    "work meanwhile; the source stays in postmigrate; Ctrl-C stops a replay with a report",
  ignore: !hasTmux,
  async fn() {
    const socket = `snapshell-test-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
    const home = await Deno.makeTempDir();
    const store = await Deno.makeTempDir();
    const cmd = await shellCommand(home, store);
    await tmux(socket, "new-session", "-d", "-x", "160", "-y", "50", cmd);
    const send = (line: string) =>
      tmux(socket, "send-keys", "-l", line).then(() => tmux(socket, "send-keys", "Enter"));
    try {
      await waitForPane(socket, /demo guest is paused at reset[\s\S]*snapshell>\s*$/m);
      // A slow migration in the background: the prompt answers while it runs.
      await send(
        `migrate -d file:${store}/a.qemu --max-bandwidth 256K --downtime-limit 1 ` +
          "--max-rounds 1000000",
      );
      await waitForPane(socket, /migrate: started to file:.* in the background/);
      await send("info migrate");
      await waitForPane(
        socket,
        /QEMU's "info migrate": here "migrate-status"[\s\S]*Migration status: active/,
      );
      await send("migrate_cancel");
      await waitForPane(socket, /migrate: cancelled \(cancelled in round \d+\); the transport/);
      await send("info status");
      await waitForPane(socket, /VM status: paused/);
      // Parameters changed mid-flight let a migration that could not converge complete.
      await send(
        `migrate -d file:${store}/b.qemu --max-bandwidth 256K --downtime-limit 1 ` +
          "--max-rounds 1000000",
      );
      await waitForPane(socket, /migrate: started to file:.*b\.qemu in the background/);
      await send("migrate-set-parameters --downtime-limit 60s --max-bandwidth 1G");
      await waitForPane(socket, /the migration in progress takes them at its next round/);
      await waitForPane(socket, /migrate: completed to file:.*b\.qemu.*postmigrate/);
      await send("info status");
      await waitForPane(socket, /VM status: postmigrate \(migrated to file:/);
      await send("cont");
      await waitForPane(socket, /QEMU's "cont": here "run"[\s\S]*give --force to run it here/);
      // Ctrl-C ends a long replay with what it compared so far.
      await send(`replay ${store}/b.qemu --insns 2G`);
      await waitForPane(socket, /replay \[/); // its progress bar
      await tmux(socket, "send-keys", "C-c");
      await waitForPane(
        socket,
        /replay: identical to .* for \d+ instructions retired .*cancelled there/,
      );
      await send("quit");
      await waitForPane(socket, /SHELL-ENDED rc=0/);
    } finally {
      await tmux(socket, "kill-server").catch(() => {});
    }
  },
});

// ---------------------------------------------------------------------------------------------
// The interactive shell on a fake terminal (streams in place of the tty), driven by keys.

/** A fake terminal: keys go in, everything the shell draws is collected. */
function fakeTerminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = "";
  let changed: () => void = () => {};
  output.on("data", (b: Buffer) => {
    text += b.toString("utf8");
    changed();
  });
  return {
    input,
    output,
    text: () => text,
    keys: (s: string) => input.write(s),
    /** Resolves once `re` shows in the output; fails after `ms`. */
    waitFor(re: RegExp, ms = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          changed = () => {};
          reject(
            new AssertionError({ message: `${re} did not appear; the terminal shows:\n${text}` }),
          );
        }, ms);
        changed = () => {
          if (!re.test(text)) return;
          clearTimeout(timer);
          changed = () => {};
          resolve();
        };
        changed();
      });
    },
  };
}

/**
 * Runs the interactive shell on a fake terminal: waits for the prompt, hands the terminal to
 * `drive`, then types quit and checks the shell ended with status 0; always cleans up.
 */
async function onFakeTerminal(
  ctx: Parameters<typeof runInteractive>[1],
  drive: (term: ReturnType<typeof fakeTerminal>) => Promise<void>,
): Promise<void> {
  const term = fakeTerminal();
  const history = await Deno.makeTempFile();
  const shell = runInteractive(
    allCommands(),
    { ...ctx, progress: ctx.progress ?? silentProgress },
    {
      input: term.input,
      output: term.output,
      historyFile: history,
    },
  );
  try {
    await term.waitFor(/snapshell> $/);
    await drive(term);
    term.keys("quit\r");
    strictEqual(await shell, 0);
  } finally {
    term.input.end();
    await shell;
    await Deno.remove(history);
  }
}

Deno.test("the interactive shell: Ctrl-C cancels a migration in progress and the shell goes on", async () => {
  // The destination: reads what comes, never answers, and records how the connection ended.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = 0;
  let gotBytes: () => void = () => {};
  const firstBytes = new Promise<void>((r) => gotBytes = r);
  const peer = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(1 << 16);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return "closed";
        received += n;
        gotBytes();
      }
    } catch {
      return "reset";
    } finally {
      conn.close();
    }
  })();

  const ctx = captureContext();
  const m = memwriter({ regionPages: 256, pagesPerRound: 16, delay: 2000, reportEvery: 1000 });
  m.run(2_000_000);
  ctx.session.install(m);
  await onFakeTerminal(ctx, async (term) => {
    // 1 MB/s: each round takes about a second on the wire, and it would never converge.
    term.keys(`migrate tcp:127.0.0.1:${listener.addr.port} --max-bandwidth 1M\r`);
    await firstBytes; // the migration is under way
    term.keys("\x03");
    await term.waitFor(/migrate: cancelled \(cancelled in round \d+\); the transport was dropped/);
    ok(/\^C/.test(term.text()));
    ok(["closed", "reset"].includes(await peer), "the destination saw the connection end");
    ok(received > 0 && received < 20 << 20, `${received} bytes`);
    strictEqual(ctx.session.machine, m, "the source machine stays current");
    strictEqual(m.ramSection.saving, false);
    term.keys("migrate-status\r");
    await term.waitFor(/Migration status: cancelled \(interrupted\)/);
  });
});

Deno.test("the interactive shell: guest output printed before a status line comes before it", async () => {
  await onFakeTerminal(await demoContext(), async (term) => {
    term.keys("run 100000\r");
    await term.waitFor(/ran 100000 cycles/);
    const text = term.text();
    const guest = text.indexOf("heartbeat every");
    ok(guest >= 0 && guest < text.indexOf("ran 100000 cycles"), text);
  });
});

Deno.test("the interactive shell: incoming runs the guest afterwards, -S keeps it paused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = await demoContext();
    await runLine(allCommands(), src, `run until "heartbeat every"`);
    strictEqual(await runLine(allCommands(), src, `migrate file:${dir}/vm.qemu`), 0, src.errText());
    strictEqual(await runLine(allCommands(), src, "info status"), 0);
    ok(/VM status: postmigrate \(migrated to file:/.test(src.outText()), src.outText());
    strictEqual(await runLine(allCommands(), src, "run 10"), 2, "the source stays stopped");
    ok(/give --force to run it here as well/.test(src.errText()), src.errText());
    strictEqual(await runLine(allCommands(), src, "run 10 --force"), 0, src.errText());

    const dst = { ...(await demoContext()), interactive: true };
    strictEqual(await runLine(allCommands(), dst, `incoming file:${dir}/vm.qemu`), 0);
    ok(dst.session.active?.background, "the destination runs, as after QEMU's incoming");
    ok(dst.outText().includes("incoming: the guest runs"), dst.outText());
    await dst.session.stopRun();
    const paused = { ...(await demoContext()), interactive: true };
    strictEqual(await runLine(allCommands(), paused, `incoming -S file:${dir}/vm.qemu`), 0);
    strictEqual(paused.session.active, undefined);
    ok(paused.outText().includes("the guest is paused (-S)"), paused.outText());
    strictEqual(await runLine(allCommands(), paused, "console"), 0);
    ok(paused.outText().endsWith("(no output since load)"), paused.outText());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runScript() with echo prints each command line before its output", async () => {
  const ctx = await demoContext();
  strictEqual(
    await runScript(allCommands(), ctx, "# a comment\nstep\n\ninfo status\n", "s", { echo: true }),
    0,
  );
  const lines = ctx.outText().split("\n");
  strictEqual(lines[0], "> step");
  ok(lines[1].startsWith("0x80000000 -> "), lines[1]);
  strictEqual(lines[2], "> info status");
  strictEqual(lines[3], "VM status: paused");
});

Deno.test("the interactive shell: Ctrl-C stops fuzz with a partial report and the shell goes on", async () => {
  const src = await demoContext();
  src.session.machine.run(200_000);
  const file = await Deno.makeTempFile();
  const out = await Deno.makeTempDir();
  const w = new StreamWriter();
  await src.session.machine.save(w);
  await Deno.writeFile(file, w.take());
  // Progress is how the shell shows a campaign under way: the first update means cases ran.
  let shown = 0;
  let started: () => void = () => {};
  const running = new Promise<void>((r) => started = r);
  const progress = () => ({
    update(done: number) {
      shown = done;
      if (done > 0) started();
    },
    done() {},
  });
  const ctx = { ...captureContext(), progress };
  try {
    await onFakeTerminal(ctx, async (term) => {
      term.keys(`fuzz ${file} --iterations 100000000 --workers 0 --seed 3 --out ${out}\r`);
      await running;
      term.keys("\x03");
      await term.waitFor(/fuzz: cancelled \(Ctrl-C\) after (\d+) of 100000000 cases/);
      const n = Number(/after (\d+) of/.exec(term.text())![1]);
      ok(n >= shown && n > 0 && n < 100_000_000, `${n} cases, ${shown} shown`);
      ok(/\^C\n/.test(term.text()), "the ^C is echoed on its own line");
      ok(!/type quit or press Ctrl-D/.test(term.text()), "Ctrl-C went to fuzz, not the prompt");
      ok(/^rejected\s+\d+/m.test(term.text()), "the partial table is printed");
      term.keys("info status\r");
      await term.waitFor(/VM status: /);
    });
    await rejects(Deno.stat(`${out}/campaign.json`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(file);
    await Deno.remove(out, { recursive: true });
  }
});
