/**
 * QEMU's monitor words as aliases of ours, so a QEMU user's fingers work: each rewrites the
 * command line to our command and the shell prints a note naming ours. One table, used by the
 * shell and scripts and listed in `help`.
 * @module
 */

/** One QEMU word (or two, for `info X`) and what it becomes here. */
export interface Alias {
  /** The words as QEMU spells them. */
  qemu: string[];
  /** Our command line's first words; the rest of the user's words follow. */
  ours: (rest: string[]) => string[];
  /** How ours is spelled, for the note and help. */
  shown: string;
}

/** QEMU's monitor words snapshell understands. */
export const QEMU_ALIASES: readonly Alias[] = [
  { qemu: ["info", "migrate"], ours: (r) => ["migrate-status", ...r], shown: "migrate-status" },
  {
    qemu: ["info", "migrate_capabilities"],
    ours: (r) => ["capabilities", ...r],
    shown: "capabilities",
  },
  {
    qemu: ["info", "migrate_parameters"],
    ours: (r) => ["migrate-set-parameters", ...r],
    shown: "migrate-set-parameters",
  },
  { qemu: ["cont"], ours: (r) => ["run", ...r], shown: "run" },
  { qemu: ["c"], ours: (r) => ["run", ...r], shown: "run" },
  { qemu: ["q"], ours: (r) => ["quit", ...r], shown: "quit" },
  { qemu: ["savevm"], ours: (r) => ["save", ...r, "--force"], shown: "save NAME --force" },
  { qemu: ["loadvm"], ours: (r) => ["load", ...r], shown: "load" },
  { qemu: ["delvm"], ours: (r) => ["delete", ...r], shown: "delete" },
  { qemu: ["migrate_cancel"], ours: (r) => ["migrate-cancel", ...r], shown: "migrate-cancel" },
  {
    qemu: ["migrate_start_postcopy"],
    ours: (r) => ["migrate-start-postcopy", ...r],
    shown: "migrate-start-postcopy",
  },
  {
    qemu: ["migrate_continue"],
    ours: (r) => ["migrate-continue", ...r],
    shown: "migrate-continue",
  },
  {
    qemu: ["migrate_set_parameter"],
    ours: ([name, value, ...r]) =>
      name === undefined ? ["migrate-set-parameters"] : [
        "migrate-set-parameters",
        `--${name.replaceAll("_", "-")}`,
        ...(value === undefined ? [] : [value]),
        ...r,
      ],
    shown: "migrate-set-parameters --NAME VALUE",
  },
  {
    qemu: ["migrate_set_capability"],
    ours: (r) => ["set", "capability", ...r],
    shown: "set capability NAME on|off",
  },
];

/** The command line `words` stand for, and the alias used (undefined: not an alias). */
export function expandAlias(words: string[]): { words: string[]; alias?: Alias } {
  for (const a of QEMU_ALIASES) {
    if (a.qemu.every((w, i) => words[i] === w)) {
      return { words: a.ours(words.slice(a.qemu.length)), alias: a };
    }
  }
  return { words };
}

/** The note printed when an alias is used: QEMU's word and ours. */
export function aliasNote(a: Alias): string {
  return `(QEMU's "${a.qemu.join(" ")}": here "${a.shown}")`;
}

/** The aliases as help lines. */
export function aliasHelp(): string {
  const pairs = QEMU_ALIASES.map((a) => `${a.qemu.join(" ")} = ${a.shown}`);
  return `QEMU's words work too: ${pairs.join("; ")}; info status and stop are ours as well.`;
}
