/**
 * Migration URIs as QEMU spells them: `file:PATH`, `exec:COMMAND` (the stream goes into the
 * command's stdin, or comes from its stdout) and `tcp:HOST:PORT` (`[v6addr]:PORT` too).
 * @module
 */

/** A parsed migration URI. */
export type MigrationUri =
  | { kind: "file"; path: string }
  | { kind: "exec"; command: string }
  | { kind: "tcp"; host: string; port: number };

/** A URI that is not one of the forms above (the shell turns it into a usage error). */
export class MigrationUriError extends Error {
  /** The text as given. */
  readonly uri: string;
  constructor(uri: string, reason: string) {
    super(`Invalid migration URI "${uri}": ${reason}`);
    this.name = "MigrationUriError";
    this.uri = uri;
  }
}

/** Parse `file:PATH`, `exec:COMMAND` or `tcp:HOST:PORT`. */
export function parseMigrationUri(text: string): MigrationUri {
  const colon = text.indexOf(":");
  const scheme = colon < 0 ? "" : text.slice(0, colon);
  const rest = colon < 0 ? "" : text.slice(colon + 1);
  if (scheme === "file") {
    if (!rest) throw new MigrationUriError(text, "file: needs a path");
    return { kind: "file", path: rest };
  }
  if (scheme === "exec") {
    if (!rest.trim()) throw new MigrationUriError(text, "exec: needs a command");
    return { kind: "exec", command: rest };
  }
  if (scheme === "tcp") {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d+)$/.exec(rest);
    if (!m) throw new MigrationUriError(text, "use tcp:HOST:PORT");
    const port = Number(m[3]);
    if (port > 65535) throw new MigrationUriError(text, `port ${port} is above 65535`);
    const host = m[1] ?? m[2];
    return { kind: "tcp", host: host || "0.0.0.0", port };
  }
  throw new MigrationUriError(text, "use file:PATH, exec:COMMAND or tcp:HOST:PORT");
}

/** The URI back as text (with the real port once a listener picked one). */
export function formatMigrationUri(u: MigrationUri): string {
  switch (u.kind) {
    case "file":
      return `file:${u.path}`;
    case "exec":
      return `exec:${u.command}`;
    case "tcp":
      return `tcp:${u.host.includes(":") ? `[${u.host}]` : u.host}:${u.port}`;
  }
}
