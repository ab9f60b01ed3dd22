/**
 * A snapshell process for the two-process migration tests: runs a script from its stdin, and
 * lets a test wait for a line of its output.
 * @module
 */

import { MAIN_PERMS, ROOT } from "../../_main_process.ts";

/** A snapshell process running the `commands` script from its stdin. */
export function snapshell(store: string, commands: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...MAIN_PERMS, "main.ts", "--store", store, "repl"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const w = child.stdin.getWriter();
  w.write(new TextEncoder().encode(commands)).then(() => w.close());
  let out = "";
  let seen: (text: string) => void = () => {};
  const stdout = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      out += dec.decode(chunk, { stream: true });
      seen(out);
    }
    return out;
  })();
  const stderr = new Response(child.stderr).text();
  return {
    /** Resolves with the first match of `re` in stdout (fails if the process ends first). */
    waitFor(re: RegExp): Promise<RegExpExecArray> {
      return new Promise((resolve, reject) => {
        seen = (text) => {
          const m = re.exec(text);
          if (m) resolve(m);
        };
        seen(out);
        stdout.then(() => reject(new Error(`process ended without ${re}:\n${out}`)));
      });
    },
    async done() {
      const [status, o, e] = await Promise.all([child.status, stdout, stderr]);
      return { code: status.code, out: o, err: e };
    },
  };
}
