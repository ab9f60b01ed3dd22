/**
 * The wire tools' own user error: a fault or a position that cannot be parsed or resolved
 * against the stream (a bad word, a section the stream does not have, a field of a stream
 * without a vmdesc). Failures of the connection itself are the engine's TransportError.
 * @module
 */

/** A fault spec or position the user got wrong; the shell prints it as a usage error. */
export class FaultSpecError extends Error {
  /** The word as given, when the error is about one. */
  readonly spec?: string;
  constructor(reason: string, spec?: string) {
    super(spec === undefined ? reason : `"${spec}": ${reason}`);
    this.name = "FaultSpecError";
    this.spec = spec;
  }
}
