/**
 * How the shell looks: colours only on a terminal and never with NO_COLOR set, and tables drawn
 * with cli-table3 (boxed on a terminal, plain aligned columns elsewhere so scripts and tests can
 * read them).
 * @module
 */
import Table from "cli-table3";
import pc from "picocolors";

/** True when standard output is a terminal and NO_COLOR is not set. */
export function colorWanted(): boolean {
  let noColor = false;
  try {
    noColor = (Deno.env.get("NO_COLOR") ?? "") !== "";
  } catch { /* no env permission: assume colours are fine */ }
  return !noColor && Deno.stdout.isTerminal();
}

/** True when standard output is a terminal (boxed tables). */
export function fancyOutput(): boolean {
  return Deno.stdout.isTerminal();
}

/** Colour functions (identity functions when colours are off). */
export const colors: ReturnType<typeof pc.createColors> = pc.createColors(colorWanted());

const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/** Render rows as a table: boxed on a terminal, aligned plain columns otherwise. */
export function renderTable(
  head: string[],
  rows: (string | number)[][],
  fancy: boolean = fancyOutput(),
): string {
  const t = fancy
    ? new Table({
      head: head.map((h) => colors.bold(h)),
      chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
      style: { head: [], border: [] },
    })
    : new Table({
      head,
      chars: PLAIN_CHARS,
      style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
    });
  for (const r of rows) t.push(r.map(String));
  return t.toString().split("\n").map((l) => l.trimEnd()).join("\n");
}
