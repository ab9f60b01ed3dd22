/**
 * The one way a section is named for people: in messages, error locations, layouts, diffs, the
 * shell and corruption selectors (which parse it back).
 * @module
 */

/** `idstr` for instance 0, `idstr#N` for instance N (`pflash_cfi01#1`). */
export function sectionLabel(s: { readonly idstr: string; readonly instanceId: number }): string {
  return s.instanceId === 0 ? s.idstr : `${s.idstr}#${s.instanceId}`;
}
