/**
 * How the walkers run description hooks and build error paths, shared by the QEMU encoding
 * (save.ts, load.ts) and the self-describing one (extensions/tagged_*.ts) so both fail alike.
 * @module
 */
import { MigrationError, SaveError, StateValidationError } from "../errors.ts";
import type { StateRecord, VmStateDescription } from "./description.ts";

/** Run a save-side hook: `false` or a thrown error aborts the save with a SaveError. */
export function runSaveHook(
  hook: ((o: StateRecord) => void | boolean) | undefined,
  opaque: StateRecord,
  what: string,
): void {
  if (!hook) return;
  let ok: void | boolean;
  try {
    ok = hook(opaque);
  } catch (e) {
    if (e instanceof MigrationError) throw e;
    throw new SaveError(`${what}: ${(e as Error).message}`, {}, { cause: e });
  }
  if (ok === false) throw new SaveError(what);
}

/** Run a load-side hook: `false` rejects the stream; a MigrationError gets the offset. */
export function runLoadHook(
  fn: (() => void | boolean) | undefined,
  reason: string,
  offset: number,
): void {
  if (!fn) return;
  let ok: void | boolean;
  try {
    ok = fn();
  } catch (e) {
    if (e instanceof MigrationError) throw e.locate({ offset });
    throw e;
  }
  if (ok === false) throw new StateValidationError(reason, { offset });
}

/** Prefix a field segment to an error's path while unwinding, and give it an offset. */
export function annotatePath(e: unknown, segment: string, offset: number): unknown {
  if (e instanceof MigrationError) {
    e.locate({ offset });
    e.withPath(segment + (e.path ?? ""));
  }
  return e;
}

/**
 * Save one description's body between its hooks, QEMU's order: pre_save, the body, post_save;
 * post_save also runs when the body failed (its own failure then goes unreported).
 */
export function saveBetweenHooks(
  vmsd: VmStateDescription,
  opaque: StateRecord,
  body: () => void,
): void {
  runSaveHook(vmsd.preSave, opaque, `pre-save failed: ${vmsd.name}`);
  try {
    body();
  } catch (e) {
    try {
      vmsd.postSave?.(opaque);
    } catch { /* the first failure is the one to report */ }
    throw e;
  }
  runSaveHook(vmsd.postSave, opaque, `post-save failed: ${vmsd.name}`);
}
