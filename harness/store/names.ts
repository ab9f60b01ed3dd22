/**
 * Snapshot names: one word of letters, digits, `.`, `_` and `-`, starting with a letter or digit,
 * so a name can never be a path, climb out of the store or collide with the store's own files.
 * @module
 */
import { StoreError } from "./errors.ts";

/** Longest accepted name. */
export const MAX_NAME_LENGTH = 64;

/** Words that mean something else where a snapshot name is expected (`diff machine NAME`). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(["machine"]);

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Check a snapshot name and return it; a bad one is a StoreError saying why. */
export function validateSnapshotName(name: string): string {
  const why = nameProblem(name);
  if (why) {
    throw new StoreError("bad-name", `Invalid snapshot name "${name}": ${why}`, {
      snapshot: name,
    });
  }
  return name;
}

/** Why `name` is not a valid snapshot name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name.length > MAX_NAME_LENGTH) return `it is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.includes("/") || name.includes("\\")) return "names cannot contain path separators";
  if (!NAME.test(name)) {
    return "use letters, digits, '.', '_' and '-', starting with a letter or digit";
  }
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved (it means the current machine)`;
  return undefined;
}
