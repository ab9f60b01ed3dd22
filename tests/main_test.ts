import { AssertionError, deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseMainArgs } from "../main.ts";

import { MAIN_PERMS, ROOT } from "./_main_process.ts";

const EXAMPLES = `${ROOT}snapshots/examples/`;

/** Run main.ts as `deno task` would, from the repository root. */
async function snapshell(args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...MAIN_PERMS, "main.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test("parseMainArgs() takes --store anywhere and --script after repl", () => {
  deepStrictEqual(parseMainArgs(["--store", "/s", "repl", "--script", "f"]), {
    rest: ["repl"],
    store: "/s",
    script: "f",
  });
  deepStrictEqual(parseMainArgs(["snapshots", "--store=/s"]), { rest: ["snapshots"], store: "/s" });
  deepStrictEqual(parseMainArgs(["inspect", "--script", "x"]), {
    rest: ["inspect", "--script", "x"],
  });
  strictEqual(parseMainArgs(["repl", "--script"]).error, "--script needs a value");
});

const examples = [...Deno.readDirSync(EXAMPLES)]
  .filter((e) => e.isFile && e.name.endsWith(".snapshell"))
  .map((e) => e.name)
  .sort();

Deno.test("there are example scripts for the main workflows", () => {
  ok(examples.length >= 5, examples.join(", "));
});

for (const name of examples) {
  Deno.test(`example ${name} runs through the real entry point and passes`, async () => {
    const store = await Deno.makeTempDir({ prefix: "snapshell-example-" });
    const r = await snapshell(["repl", "--store", store, "--script", `${EXAMPLES}${name}`]);
    strictEqual(r.code, 0, `${name} failed:\n${r.out}\n${r.err}`);
    ok(r.out.includes("ok: "), "every example asserts something");
    ok(!r.out.includes("\x1b["), "no colours off a terminal");
  });
}

Deno.test("a failing script exits non-zero naming its line", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.snapshell`, "step\nexpect reg pc == 0x1\nregs\n");
  const r = await snapshell(["repl", "--store", dir, "--script", `${dir}/bad.snapshell`]);
  strictEqual(r.code, 1);
  ok(r.err.includes(`${dir}/bad.snapshell:2: expectation failed: expect reg pc == 0x1`), r.err);
});

Deno.test("commands are read from standard input when it is not a terminal", async () => {
  const store = await Deno.makeTempDir();
  const r = await snapshell(["repl", "--store", store], "step 2\nexpect reg pc == 0x80000008\n");
  strictEqual(r.code, 0, r.err);
  ok(r.out.includes("ok: pc == 0x80000008"), r.out);
});

Deno.test("deno task cli runs one command: snapshots of a fresh store, a missing script", async () => {
  const store = await Deno.makeTempDir();
  const r = await snapshell(["--store", store, "snapshots"]);
  strictEqual(r.code, 0);
  strictEqual(r.out.trim(), `no snapshots in ${store}`);
  const bad = await snapshell(["repl", "--script", `${store}/none.snapshell`]);
  strictEqual(bad.code, 1);
  ok(bad.err.includes("cannot read script"));
});

/** main.ts with networking, its stdout watched as it comes. */
function liveSnapshell(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...MAIN_PERMS, "main.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let seen: () => void = () => {};
  const stdout = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      out += dec.decode(chunk, { stream: true });
      seen();
    }
  })();
  const stderr = new Response(child.stderr).text();
  return {
    child,
    /** The first match of `re` in stdout (fails if the process ends first). */
    waitFor(re: RegExp): Promise<RegExpExecArray> {
      return new Promise((resolve, reject) => {
        seen = () => {
          const m = re.exec(out);
          if (m) resolve(m);
        };
        seen();
        stdout.then(() => reject(new AssertionError({ message: `no ${re} in:\n${out}` })));
      });
    },
    async done() {
      const [status, , err] = await Promise.all([child.status, stdout, stderr]);
      return { code: status.code, out, err };
    },
  };
}

Deno.test("deno task cli incoming: SIGINT while it waits cancels it (exit 130)", async () => {
  const store = await Deno.makeTempDir();
  const p = liveSnapshell(["--store", store, "incoming", "tcp:127.0.0.1:0"]);
  const port = Number((await p.waitFor(/listening on tcp:127\.0\.0\.1:(\d+)/))[1]);
  p.child.kill("SIGINT");
  const r = await p.done();
  strictEqual(r.code, 130, r.err);
  ok(/incoming: cancelled; nothing was loaded/.test(r.err), r.err);
  Deno.listen({ hostname: "127.0.0.1", port }).close(); // the listener is gone
});

Deno.test("deno task cli migrate: SIGINT cancels it and the destination sees the stream cut", async () => {
  const store = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = liveSnapshell([
    "--store",
    store,
    "migrate",
    `tcp:127.0.0.1:${listener.addr.port}`,
    "--max-bandwidth",
    "256K",
  ]);
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(1 << 16);
  let received = await conn.read(buf) ?? 0; // the migration is under way
  p.child.kill("SIGINT");
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    received += n;
  }
  conn.close();
  const r = await p.done();
  strictEqual(r.code, 130, r.err);
  ok(/migrate: cancelled \(cancelled in .*\); the transport was dropped/.test(r.err), r.err);
  ok(received > 0 && received < 128 << 20, `${received} bytes`);
});

Deno.test("parseMainArgs() takes --echo after repl, for scripts", () => {
  deepStrictEqual(parseMainArgs(["repl", "--script", "f", "--echo"]), {
    rest: ["repl"],
    script: "f",
    echo: true,
  });
  deepStrictEqual(parseMainArgs(["run", "--echo"]), { rest: ["run", "--echo"] });
});
