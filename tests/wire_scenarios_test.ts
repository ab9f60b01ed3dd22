/**
 * The driver of snapshots/examples/wire/*.scenario: each `[role]` of a scenario runs as its own
 * snapshell process (through main.ts, on loopback), in file order; every role but the last must
 * print "listening on tcp:HOST:PORT", which later roles get as `${role}` (`${tmp}` is a shared
 * scratch directory). A scenario passes when every process exits 0 (their scripts' `expect`s
 * held) and each `#? REGEX` line of a role matches that role's output. `WIRE_DEBUG=1` prints every
 * role's output.
 */
import { deepStrictEqual, fail, ok, strictEqual } from "node:assert/strict";

import { MAIN_PERMS, ROOT } from "./_main_process.ts";

const DIR = `${ROOT}snapshots/examples/wire/`;
/** No scenario process may live longer than this. */
const PROCESS_LIMIT_MS = 60_000;

/** One role of a scenario. */
interface Role {
  name: string;
  script: string[];
  patterns: RegExp[];
}

/** Split a scenario into its roles, with their script lines and `#?` patterns. */
function parseScenario(text: string): Role[] {
  const roles: Role[] = [];
  for (const line of text.split("\n")) {
    const head = /^\[([a-z][a-z0-9-]*)\]\s*$/.exec(line);
    if (head) {
      roles.push({ name: head[1], script: [], patterns: [] });
      continue;
    }
    const role = roles[roles.length - 1];
    if (!role) continue;
    if (line.startsWith("#? ")) role.patterns.push(new RegExp(line.slice(3)));
    else role.script.push(line);
  }
  return roles;
}

function substitute(line: string, vars: Map<string, string>): string {
  return line.replace(/\$\{([a-z][a-z0-9-]*)\}/g, (m, name: string) => {
    const v = vars.get(name);
    if (v === undefined) fail(`${m} is not defined before this role`);
    return v;
  });
}

/** A snapshell process running `script` from its stdin, its output collected. */
function spawnRole(store: string, script: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...MAIN_PERMS, "main.ts", "--store", store, "repl"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PROCESS_LIMIT_MS),
  }).spawn();
  const w = child.stdin.getWriter();
  w.write(new TextEncoder().encode(script)).then(() => w.close());
  let out = "";
  let seen: () => void = () => {};
  const stdout = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      out += dec.decode(chunk, { stream: true });
      seen();
    }
    return out;
  })();
  const stderr = new Response(child.stderr).text();
  return {
    /** The address the process printed it listens on (fails if it ends first). */
    listening(): Promise<string> {
      const re = /listening on (tcp:\S+)/;
      return new Promise((resolve, reject) => {
        seen = () => {
          const m = re.exec(out);
          if (m) resolve(m[1]);
        };
        seen();
        stdout.then(() => reject(new Error(`ended without listening:\n${out}`)));
      });
    },
    async done() {
      const [status, o, e] = await Promise.all([child.status, stdout, stderr]);
      return { code: status.code, out: o, err: e };
    },
  };
}

Deno.test("parseScenario() splits roles, script lines and patterns", () => {
  const roles = parseScenario("# intro\n[a]\nrun 1\n#? x+\n[b-2]\nmigrate ${a}\n");
  deepStrictEqual(roles.map((r) => [r.name, r.script, r.patterns.map(String)]), [
    ["a", ["run 1"], ["/x+/"]],
    ["b-2", ["migrate ${a}", ""], []],
  ]);
  strictEqual(substitute("to ${a}", new Map([["a", "tcp:1:2"]])), "to tcp:1:2");
});

const scenarios = [...Deno.readDirSync(DIR)]
  .filter((e) => e.isFile && e.name.endsWith(".scenario"))
  .map((e) => e.name)
  .sort();

Deno.test("the wire scenarios cover cuts, a stall, throttling and a caught bit flip", () => {
  for (const want of ["cut-at-start", "cut-in-ram", "cut-in-device", "cut-in-vmdesc", "stall"]) {
    ok(scenarios.some((s) => s.includes(want)), `${want}: ${scenarios.join(", ")}`);
  }
  ok(scenarios.some((s) => s.includes("throttled")) && scenarios.some((s) => s.includes("flip")));
});

for (const name of scenarios) {
  Deno.test(`wire scenario ${name}: every role passes with real processes on loopback`, async () => {
    const roles = parseScenario(await Deno.readTextFile(`${DIR}${name}`));
    ok(roles.length >= 2, "a scenario has at least two processes");
    const tmp = await Deno.makeTempDir({ prefix: "snapshell-wire-" });
    const vars = new Map([["tmp", tmp]]);
    const running: { role: Role; proc: ReturnType<typeof spawnRole> }[] = [];
    try {
      for (const [i, role] of roles.entries()) {
        ok(role.patterns.length > 0, `${role.name} checks something`);
        const store = `${tmp}/${role.name}-store`;
        const script = role.script.map((l) => substitute(l, vars)).join("\n") + "\n";
        const proc = spawnRole(store, script);
        running.push({ role, proc });
        if (i < roles.length - 1) vars.set(role.name, await proc.listening());
      }
      const results = await Promise.all(running.map((r) => r.proc.done()));
      const all = results.map((r, i) =>
        `--- ${running[i].role.name} (exit ${r.code})\n${r.out}${r.err}`
      ).join("\n");
      if (Deno.env.get("WIRE_DEBUG")) console.log(all);
      results.forEach((r, i) => {
        const role = running[i].role;
        strictEqual(r.code, 0, `${name}: ${role.name} failed\n${all}`);
        for (const re of role.patterns) {
          ok(re.test(r.out + r.err), `${name}: ${role.name} output lacks ${re}\n${all}`);
        }
      });
    } finally {
      await Promise.allSettled(running.map((r) => r.proc.done()));
      await Deno.remove(tmp, { recursive: true });
    }
  });
}
