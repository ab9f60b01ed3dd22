/**
 * Quoting for the shell commands snapshell hands to QEMU (`exec:` URIs) and prints for people
 * (the command that reproduces a finding).
 * @module
 */

/** Quote one word for a POSIX shell. */
export function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
