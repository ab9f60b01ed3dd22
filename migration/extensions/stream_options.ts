/**
 * Turns a set of capability names (a shell session's settings) into the options the save and
 * load paths take, so every path that saves or loads a machine honours them the same way.
 * @module
 */
import type { LoadStreamOptions } from "../sections/loadvm.ts";
import type { SaveOptions } from "../sections/savevm.ts";
import { SNAPSHELL_MANIFEST, type VersionManifest } from "./versioning.ts";

/** Save and load options for capabilities that are on (machine type left to the caller). */
export interface StreamOptions {
  /** What saves use. */
  save: Partial<SaveOptions>;
  /** What loads use. */
  load: Partial<LoadStreamOptions>;
}

/** The options that stand for `capabilities` on this side (`manifest`: its vendor features). */
export function streamOptionsFor(
  capabilities: Iterable<string>,
  manifest: VersionManifest = SNAPSHELL_MANIFEST,
): StreamOptions {
  const caps = [...capabilities];
  return { save: { capabilities: caps, manifest }, load: { capabilities: caps, manifest } };
}
