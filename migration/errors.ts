/**
 * Typed errors for the migration engine.
 *
 * Every failure a user can provoke with a stream is a {@link MigrationError} that says what kind
 * of failure it is (the stream is damaged, the stream does not fit this machine, or the
 * environment failed us), where it happened (absolute byte offset, section, field path) and why.
 * @module
 */

/** Why a load or save failed: damaged bytes, a mismatch with this side, or the environment. */
export type MigrationErrorKind = "corrupt" | "incompatible" | "environment";

/** Where in a stream an error happened; every part is optional because framing errors have no field. */
export interface MigrationErrorLocation {
  /** Absolute byte offset in the stream where the offending item starts. */
  offset?: number;
  /** Section as `idstr`, or `idstr#N` for instance N (sections/label.ts). */
  section?: string;
  /** Field path inside the section, e.g. `serial/recv_fifo.data[12]`. */
  path?: string;
}

let lightweight = false;

/**
 * Switch lightweight construction of {@link MigrationError}s on or off; returns the previous
 * setting. The fuzzer's fast pass turns it on: thousands of rejections a second, each a typed
 * error whose stack nobody reads, and a native Error costs microseconds even without frames.
 */
export function lightweightErrors(on: boolean): boolean {
  const was = lightweight;
  lightweight = on;
  return was;
}

/**
 * Base class of every error the engine raises for a stream: callers catch this one.
 *
 * While {@link lightweightErrors} is on, an instance is built without the native Error
 * underneath (no stack) and its message is rendered when read; kind, name, reason, offset,
 * section, path and the message text are the same either way.
 */
export class MigrationError extends Error {
  /** Whether the stream is damaged, does not fit, or the environment failed. */
  readonly kind!: MigrationErrorKind;
  /** Absolute byte offset, when known. */
  offset?: number;
  /** Section name (idstr and instance), when known. */
  section?: string;
  /** Field path inside the section, when known. */
  path?: string;
  /** The message without the location suffix. */
  readonly reason!: string;
  /** `reason` with control characters escaped, made once (a message is rendered per layer). */
  readonly #reasonText?: string;

  constructor(
    kind: MigrationErrorKind,
    reason: string,
    where: MigrationErrorLocation = {},
    options?: ErrorOptions,
  ) {
    if (lightweight) {
      // A derived constructor may return its own object instead of calling super(); the
      // subclasses' constructors then go on with this one as their `this`.
      const self = Object.create(new.target.prototype);
      self.name = new.target.name;
      self.kind = kind;
      self.reason = reason;
      self.offset = where.offset;
      self.section = where.section;
      self.path = where.path;
      if (options?.cause !== undefined) self.cause = options.cause;
      return self;
    }
    super(reason, options);
    this.name = new.target.name;
    this.kind = kind;
    this.reason = reason;
    this.#reasonText = escapeControl(reason);
    this.offset = where.offset;
    this.section = where.section;
    this.path = where.path;
    this.message = this.render();
  }

  /** Fill in location parts that an outer layer knows and the thrower did not. */
  locate(where: MigrationErrorLocation): this {
    if (this.offset === undefined && where.offset !== undefined) this.offset = where.offset;
    if (this.section === undefined && where.section !== undefined) this.section = where.section;
    if (this.path === undefined && where.path !== undefined) this.path = where.path;
    if (Object.hasOwn(this, "message")) this.message = this.render();
    return this;
  }

  /** Replace the field path (the engine builds it while unwinding) and re-render the message. */
  withPath(path: string | undefined): this {
    this.path = path;
    if (Object.hasOwn(this, "message")) this.message = this.render();
    return this;
  }

  /** A plain object for JSON output (`check --json`, fuzz reports). */
  toJSON(): Record<string, unknown> {
    return {
      error: this.name,
      kind: this.kind,
      reason: this.reason,
      offset: this.offset ?? null,
      section: this.section ?? null,
      path: this.path ?? null,
    };
  }

  /** The escaped reason made at construction (none in a lightweight error). */
  static #escaped(e: MigrationError): string | undefined {
    return #reasonText in e ? e.#reasonText : undefined;
  }

  /** The message: the reason, then where (section, field, byte offset). */
  render(): string {
    const parts: string[] = [];
    if (this.section !== undefined) parts.push(`section "${escapeControl(this.section)}"`);
    if (this.path !== undefined) parts.push(`field "${escapeControl(this.path)}"`);
    if (this.offset !== undefined) {
      parts.push(`byte ${this.offset} (0x${this.offset.toString(16)})`);
    }
    const reason = MigrationError.#escaped(this) ?? escapeControl(this.reason);
    return parts.length ? `${reason} (at ${parts.join(", ")})` : reason;
  }
}

// A lightweight error has no own `message`: it is rendered from the parts when read, and an
// assignment makes it an ordinary own property again.
Object.defineProperty(MigrationError.prototype, "message", {
  get(this: MigrationError): string {
    return this.render();
  },
  set(this: MigrationError, value: string) {
    Object.defineProperty(this, "message", {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  },
  configurable: true,
});

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escape control characters (ESC, newline, C1...) as `\xNN`, so a name taken from a stream can
 * neither drive the terminal nor forge a line of output when it is printed in a message.
 */
export function escapeControl(text: string): string {
  // Most messages have none: a plain scan first, since errors are rendered on the fuzzer's hot path.
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) break;
  }
  if (i === text.length) return text;
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * The stream ended before an item it announced was complete. `offset` is where the stream
 * ended when the decoder was waiting for more input (a cut file or connection), and where the
 * field starts when a field's own bytes were short; `needed`/`available` give the rest.
 */
export class StreamTruncatedError extends MigrationError {
  /** Bytes the decoder needed at that point. */
  readonly needed: number;
  /** Bytes that were still available. */
  readonly available: number;
  constructor(needed: number, available: number, where: MigrationErrorLocation = {}) {
    super(
      "corrupt",
      `Stream ends early: ${needed} more byte${
        needed === 1 ? "" : "s"
      } needed, ${available} available`,
      where,
    );
    this.needed = needed;
    this.available = available;
  }
}

/** Bytes that cannot be what the format says must be there (bad magic, unknown type byte...). */
export class StreamFormatError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("corrupt", reason, where);
  }
}

/** A version on the wire outside what this side accepts. */
export class VersionMismatchError extends MigrationError {
  /** Version found in the stream. */
  readonly received: number;
  /** Lowest version this side loads. */
  readonly minimum: number;
  /** Highest version this side loads. */
  readonly maximum: number;
  constructor(
    what: string,
    received: number,
    minimum: number,
    maximum: number,
    where: MigrationErrorLocation = {},
  ) {
    const reason = received > maximum
      ? `${what}: incoming version_id ${received} is too new for local version_id ${maximum}`
      : `${what}: incoming version_id ${received} is too old for local minimum version_id ${minimum}`;
    super("incompatible", reason, where);
    this.received = received;
    this.minimum = minimum;
    this.maximum = maximum;
  }
}

/** A section, subsection or RAM block this side does not have. */
export class UnknownEntityError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("incompatible", reason, where);
  }
}

/** The stream asks for something this side cannot build (a RAM size no machine can have). */
export class IncompatibleError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("incompatible", reason, where);
  }
}

/** A section footer missing or naming another section. */
export class FooterError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("corrupt", reason, where);
  }
}

/** Loaded values rejected by a check (an `equal` field, a validation hook, a post_load). */
export class StateValidationError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("corrupt", reason, where);
  }
}

/** A save could not produce a stream (pre_save failed, state inconsistent with its description). */
export class SaveError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}, options?: ErrorOptions) {
    super("environment", reason, where, options);
  }
}

/** The transport or file failed underneath the stream (I/O error, connection reset, timeout). */
export class TransportError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}, options?: ErrorOptions) {
    super("environment", reason, where, options);
  }
}

/**
 * A description that QEMU's vmstate_check would reject: raised at registration, never at load.
 * It is a programming error, so it is a TypeError rather than a MigrationError.
 */
export class VmStateDefinitionError extends TypeError {
  /** Name of the description at fault. */
  readonly description: string;
  /** Name of the field at fault, when one is. */
  readonly field?: string;
  constructor(description: string, field: string | undefined, reason: string) {
    super(
      `Invalid VMState description "${description}"${field ? ` field "${field}"` : ""}: ${reason}`,
    );
    this.name = "VmStateDefinitionError";
    this.description = description;
    this.field = field;
  }
}

/**
 * A string taken from a stream, cut for a message: a corrupted length can make a "name" of
 * megabytes, and a message must stay one readable line (the full value stays in the stream).
 */
export function clipStreamText(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
