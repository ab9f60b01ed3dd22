/**
 * Persistent shell history: one command per line in `SNAPSHELL_HISTORY`, or
 * `~/.snapshell_history` by default; the newest lines are recalled first.
 * @module
 */

/** Lines kept in the history. */
export const HISTORY_SIZE = 1000;

/** Where history lives: `SNAPSHELL_HISTORY`, else `$HOME/.snapshell_history`, else nowhere. */
export function historyPath(): string | undefined {
  try {
    const explicit = Deno.env.get("SNAPSHELL_HISTORY");
    if (explicit !== undefined) return explicit || undefined;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.snapshell_history` : undefined;
  } catch {
    return undefined;
  }
}

/** History lines, newest first (the order readline wants); missing file means none. */
export async function loadHistory(path: string | undefined, max = HISTORY_SIZE): Promise<string[]> {
  if (!path) return [];
  try {
    const lines = (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "");
    return lines.slice(-max).reverse();
  } catch {
    return [];
  }
}

/** Append one line (errors are ignored: history must never break the shell). */
export async function appendHistory(path: string | undefined, line: string): Promise<void> {
  if (!path || line.trim() === "" || line.includes("\n")) return;
  try {
    await Deno.writeTextFile(path, line + "\n", { append: true, create: true });
  } catch { /* read-only home, full disk: the session goes on without saving history */ }
}
