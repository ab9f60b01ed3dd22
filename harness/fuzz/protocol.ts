/**
 * Messages between a fuzz campaign and its workers. Workers get the base snapshot once, then
 * ranges of case indices; they answer with counts per class and the bug candidates they saw.
 * A shared heartbeat (the case under way and a counter bumped after each case) lets the
 * campaign notice a worker stuck in one case and call it a hang.
 * @module
 */
import type { CorruptOp } from "../../migration/corrupt/ops.ts";
import type { CaseOutcome, ClassCounts } from "./classes.ts";
import type { FuzzVia } from "./via.ts";

/** Campaign settings every worker needs. */
export interface WorkerSettings {
  seed: number;
  maxOps: number;
  runInsns: number;
  runBudgetMs: number;
  /** Strategy weights (default: the corrupt module's). */
  weights?: Record<string, number>;
  /** Test hook: the worker spins forever at this case index (to exercise the watchdog). */
  stallAt?: number;
  /** How cases reach the loader (default: from memory). */
  via?: FuzzVia;
}

/** Campaign → worker. */
export type ToWorker =
  | {
    type: "init";
    base: Uint8Array;
    settings: WorkerSettings;
    /** Int32Array over a SharedArrayBuffer: [case under way, cases finished]. */
    heartbeat: SharedArrayBuffer;
  }
  | { type: "range"; from: number; to: number }
  /** Run one explicit recipe exactly (confirmation and shrinking). */
  | { type: "exact"; id: number; ops: CorruptOp[] };

/** A case that looked like a bug in the fast pass. */
export interface BugCandidate {
  index: number;
  ops: CorruptOp[];
  outcome: CaseOutcome;
}

/** Worker → campaign. */
export type FromWorker =
  | { type: "ready" }
  | {
    type: "range-done";
    from: number;
    to: number;
    counts: ClassCounts;
    bugs: BugCandidate[];
    /** Cases whose RAM chunks were loaded pre-parsed. */
    preParsed: number;
    /** CPU milliseconds the worker thread spent (when measurable). */
    ms: number;
  }
  | { type: "exact-done"; id: number; outcome: CaseOutcome }
  | { type: "failed"; message: string };
