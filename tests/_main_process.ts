/**
 * How tests start main.ts in a process of its own: from the repository root, with exactly the
 * permissions `deno task cli` grants (read from deno.json), so a test cannot pass with more than
 * a user has.
 * @module
 */

/** The repository root (where deno.json and main.ts are). */
export const ROOT = new URL("../", import.meta.url).pathname;

/** The `deno run` flags of the `cli` task in deno.json (the `repl` task has the same). */
export const MAIN_PERMS: string[] = taskPermissions("cli");

/** The flags between `deno run` and `main.ts` in a deno.json task. */
function taskPermissions(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const words = String(config.tasks?.[task] ?? "").split(/\s+/);
  const run = words.indexOf("run");
  const main = words.indexOf("main.ts");
  if (words[0] !== "deno" || run !== 1 || main < run) {
    throw new Error(`deno.json task "${task}" is not "deno run FLAGS main.ts": ${words.join(" ")}`);
  }
  return words.slice(run + 1, main);
}
