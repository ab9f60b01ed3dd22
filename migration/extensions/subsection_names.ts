/**
 * Which parent a subsection belongs to, by name (the March 2026 "/" separator thread). QEMU's
 * loader attributes a subsection to the innermost description whose name is a plain prefix of
 * the subsection's name, so a nested struct named "virtio" claims "virtio-blk/feature" meant for
 * its parent "virtio-blk". Strict mode (`x-strict-subsections`, or LoadOptions.subsectionMatch)
 * requires the separator, `parent/`, except for subsections registered with `legacyName`
 * (Peter Maydell's proposal); with `x-vmsd-markers` the level decides and names do not matter.
 * @module
 */
import type { VmStateDescription } from "../vmstate/description.ts";
import { prefixRule, type SubsectionRule } from "../vmstate/load.ts";

/** How subsections are attributed to their parent on load. */
export type SubsectionMatch = "prefix" | "strict";

/** QEMU's attribution by name: a plain prefix, or `parent/` (and declared legacy names) when strict. */
export function subsectionBelongs(
  vmsd: VmStateDescription,
  name: string,
  match: SubsectionMatch,
): boolean {
  if (!name.startsWith(vmsd.name)) return false;
  if (match !== "strict" || name.charAt(vmsd.name.length) === "/") return true;
  return vmsd.subsections?.some((s) => s.name === name && s.legacyName) ?? false;
}

/** The attribution rule the QEMU-encoding loader takes for a match mode. */
export function subsectionRule(match: SubsectionMatch): SubsectionRule {
  return match === "strict" ? (vmsd, name) => subsectionBelongs(vmsd, name, "strict") : prefixRule;
}
