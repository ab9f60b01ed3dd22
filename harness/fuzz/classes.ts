/**
 * What can happen to one mutated stream, from harmless to bug: the loader refused it with a
 * typed error, it loaded into the same state as the original, it loaded into a different but
 * valid state, or (bugs) it loaded into a state the devices' own checks reject, something threw
 * an unexpected exception, or the machine hung.
 * @module
 */

/** The class of one fuzz case. */
export type CaseClass = "rejected" | "equal" | "different" | "invalid" | "exception" | "hang";

/** Every class, in report order. */
export const CASE_CLASSES: readonly CaseClass[] = [
  "rejected",
  "equal",
  "different",
  "invalid",
  "exception",
  "hang",
];

/** What each class means, for the summary table. */
export const CLASS_MEANING: Readonly<Record<CaseClass, string>> = {
  rejected: "rejected with a typed error, machine unchanged",
  equal: "loaded, same state as the original",
  different: "loaded, different but valid state",
  invalid: "BUG: loaded into an invalid state (or a rejection changed the machine)",
  exception: "BUG: unexpected exception",
  hang: "BUG: hang (instruction or time budget exceeded)",
};

/** True for the classes that are bugs. */
export function isBug(c: CaseClass): boolean {
  return c === "invalid" || c === "exception" || c === "hang";
}

/** The outcome of one case. */
export interface CaseOutcome {
  class: CaseClass;
  /** Where it happened: `load`, `check`, `run`, `rollback`. */
  phase?: string;
  /** The error or the failed check, one line. */
  detail?: string;
  /** Error class name (`StreamFormatError`, `TypeError`). */
  error?: string;
}

/** Counts per class. */
export type ClassCounts = Record<CaseClass, number>;

/** All-zero counts. */
export function emptyCounts(): ClassCounts {
  return { rejected: 0, equal: 0, different: 0, invalid: 0, exception: 0, hang: 0 };
}
