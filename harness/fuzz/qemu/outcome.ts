/**
 * What can happen when QEMU loads one stream, and the signatures that group findings: QEMU
 * rejected it cleanly (its error text kept), accepted it and the guest kept running, accepted it
 * but the guest stopped, crashed (a signal, with the abort or assertion text), hung (no verdict in
 * the bound), never started; and, for `--differential`, the two loaders disagreed.
 * @module
 */

/** The class of one case against QEMU. */
export type QemuClass =
  | "rejected"
  | "accepted"
  | "stopped"
  | "crashed"
  | "hung"
  | "no-start"
  | "disagree";

/** Every class, in report order. */
export const QEMU_CLASSES: readonly QemuClass[] = [
  "rejected",
  "accepted",
  "stopped",
  "crashed",
  "hung",
  "no-start",
  "disagree",
];

/** What each class means, for the summary table. */
export const QEMU_CLASS_MEANING: Readonly<Record<QemuClass, string>> = {
  rejected: "QEMU refused the stream cleanly (load failed, exit 1, its error text kept)",
  accepted: "QEMU loaded it; after cont the guest kept running",
  stopped: "QEMU loaded it; after cont the guest did not keep running (status, or QEMU exited)",
  crashed: "BUG: QEMU died on a signal (abort, assertion, segfault)",
  hung: "BUG: QEMU answered no QMP command within the bound (stuck in the load or the run)",
  "no-start": "QEMU never got ready (its stderr kept): the set-up, not the stream",
  disagree: "FINDING: snapshell's loader and QEMU's disagree on this stream",
};

/** True for the classes that are findings to confirm, shrink and save. */
export function isQemuFinding(c: QemuClass): boolean {
  return c === "crashed" || c === "hung" || c === "disagree";
}

/** The outcome of one case. */
export interface QemuOutcome {
  class: QemuClass;
  /** QEMU's error text (rejected), the abort/assertion line or signal (crashed), the status. */
  detail?: string;
  /** `load`, `cont`, `run`, `start`. */
  phase?: string;
  /** How QEMU ended, when it did (`exit code 1`, `signal SIGABRT`). */
  exit?: string;
  /** Guest serial bytes written after `cont`, for accepted cases. */
  consoleBytes?: number;
  /** With `-icount`: guest instructions executed after `cont`. */
  guestInsns?: number;
  /** With `-icount`: the run ended because the guest went idle for good (nothing to wake it). */
  idle?: boolean;
  /**
   * The wall-clock safety net ended the load or run before the guest's progress decided it (a
   * starved host, or a QEMU slow but answering): what was seen. Reported apart from the class.
   */
  safetyNet?: string;
  /**
   * With `-icount`: the run ended because QEMU's vCPU kept using CPU time while the guest executed
   * nothing (a livelock; also flagged `safetyNet`, its class unchanged).
   */
  spinning?: boolean;
  /** For `disagree`: what snapshell's loader said. */
  ours?: string;
  /** QEMU's loaded state migrated back out (only when asked; dropped once compared). */
  resaved?: Uint8Array;
}

/** Counts per class. */
export type QemuCounts = Record<QemuClass, number>;

/** All-zero counts. */
export function emptyQemuCounts(): QemuCounts {
  return {
    rejected: 0,
    accepted: 0,
    stopped: 0,
    crashed: 0,
    hung: 0,
    "no-start": 0,
    disagree: 0,
  };
}

/** A message with the numbers and addresses that vary between occurrences replaced by `#`. */
export function normalise(text: string): string {
  return text
    .replace(/\/[^\s:'"]+\/(qemu-[^\s/:]+)/g, "$1") // paths of the binary
    .replace(/0x[0-9a-f]+|\b\d+\b/gi, "#")
    .trim();
}

/**
 * The line of QEMU's stderr that says why it died or refused: an assertion or abort line when
 * there is one, else the first line naming an error, else the last line.
 */
export function keyLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) =>
    l && !/QEMU waiting for connection/.test(l)
  );
  const pick = lines.find((l) => /Assertion .* failed|assertion failed|\babort|\*\*/i.test(l)) ??
    lines.find((l) => /error|fail|invalid|unknown|missing|mismatch/i.test(l)) ??
    lines[lines.length - 1];
  return (pick ?? "").slice(0, 400);
}

/** What groups findings: the class and the normalised key line (or the signal). */
export function qemuSignature(o: QemuOutcome): string {
  return [o.class, o.phase ?? "", normalise(o.detail ?? ""), o.exit ?? "", normalise(o.ours ?? "")]
    .join("|");
}
