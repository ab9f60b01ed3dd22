/**
 * Typed errors of the corrupt tool: an operation that cannot be understood or applied to this
 * stream is the user's mistake (a bad selector, a value that does not fit its field, two
 * operations on the same bytes), reported with the operation's position in the recipe and why,
 * so the CLI can print it as a usage error and the fuzzer can discard the candidate.
 * @module
 */

/** Why an operation was refused. */
export type CorruptErrorCode =
  | "syntax"
  | "not-found"
  | "ambiguous"
  | "range"
  | "conflict"
  | "no-vmdesc"
  | "recipe";

/** An operation that cannot be parsed, resolved against the stream, or applied. */
export class CorruptOpError extends Error {
  /** Machine-readable category. */
  readonly code: CorruptErrorCode;
  /** Position of the operation in the recipe, when known. */
  opIndex?: number;
  /** The message without the position prefix. */
  readonly reason: string;

  constructor(code: CorruptErrorCode, reason: string, opIndex?: number) {
    super(reason);
    this.name = "CorruptOpError";
    this.code = code;
    this.reason = reason;
    this.opIndex = opIndex;
    this.message = this.render();
  }

  /** Attach the operation's position (when an outer layer knows it). */
  at(opIndex: number): this {
    if (this.opIndex === undefined) {
      this.opIndex = opIndex;
      this.message = this.render();
    }
    return this;
  }

  private render(): string {
    return this.opIndex === undefined
      ? this.reason
      : `operation ${this.opIndex + 1}: ${this.reason}`;
  }
}
