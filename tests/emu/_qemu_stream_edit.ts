/**
 * The one edit the interop tests make to a QEMU stream, and why: a gdbstub stop is run state
 * `debug`, which QEMU 7.2 itself cannot resume.
 * @module
 */

/**
 * QEMU's stream with its `globalstate` run state `debug` (a gdbstub stop) made `paused`, what a
 * QMP `stop` would have recorded: QEMU 7.2 aborts on its own `debug` stream ("invalid runstate
 * transition: 'inmigrate' -> 'debug'"); snapshell loads either. Nothing else changes.
 */
export function pausedNotDebug(bytes: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode("\x0bglobalstate");
  let at = -1;
  for (let i = 0; at < 0 && i + name.length <= bytes.length; i++) {
    if (name.every((b, j) => bytes[i + j] === b)) at = i + name.length + 8; // instance, version
  }
  if (at < 0 || new TextDecoder().decode(bytes.subarray(at + 4, at + 9)) !== "debug") return bytes;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, 7); // size: "paused" and its NUL
  out.fill(0, at + 4, at + 4 + 100);
  out.set(new TextEncoder().encode("paused"), at + 4);
  return out;
}
