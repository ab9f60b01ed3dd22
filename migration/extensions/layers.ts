/**
 * The protocol extensions as layers of the QEMU-encoding walkers: the switches of
 * {@link Extensions} (and the policies of one load) turned into the walker options of
 * `vmstate/save.ts` and `vmstate/load.ts`. The engine knows only the layer interfaces; which
 * extension supplies which layer is decided here.
 * @module
 */
import type { LoadOptions } from "../vmstate/load.ts";
import type { SaveWalkOptions } from "../vmstate/save.ts";
import { type SubsectionMatch, subsectionRule } from "./subsection_names.ts";
import { vmsdMarkersLoadLayer, vmsdMarkersSaveLayer } from "./vmsd_markers.ts";

/** The extension switches a save walk honours. */
export interface ExtensionSaveOptions {
  /** `x-ptr-markers`. */
  ptrMarkers?: boolean;
  /** `x-vmsd-markers`. */
  vmsdMarkers?: boolean;
  /** Told the name of each subsection written. */
  onSubsection?: (name: string) => void;
}

/** The extension switches and policies a load walk honours. */
export interface ExtensionLoadOptions {
  /** `x-ptr-markers`. */
  ptrMarkers?: boolean;
  /** `x-vmsd-markers`. */
  vmsdMarkers?: boolean;
  /** "strict": `x-strict-subsections`; "prefix": QEMU's rule. */
  subsectionMatch?: SubsectionMatch;
  /** `x-skip-unknown-subsections` (needs the markers). */
  skipUnknownSubsections?: boolean;
  /** Reject a subsection that appears twice in one parent (default on). */
  rejectDuplicateSubsections?: boolean;
  /** Told what the loader tolerated. */
  onNote?: (note: string) => void;
}

/** Walker options of a save with these extensions. */
export function saveWalkOptions(o: ExtensionSaveOptions = {}): SaveWalkOptions {
  return {
    ptrMarkers: o.ptrMarkers,
    layer: o.vmsdMarkers ? vmsdMarkersSaveLayer : undefined,
    onSubsection: o.onSubsection,
  };
}

/** Walker options of a load with these extensions. */
export function loadWalkOptions(o: ExtensionLoadOptions = {}): LoadOptions {
  return {
    ptrMarkers: o.ptrMarkers,
    layer: o.vmsdMarkers ? vmsdMarkersLoadLayer : undefined,
    subsectionRule: subsectionRule(o.subsectionMatch ?? "prefix"),
    skipUnknownSubsections: o.skipUnknownSubsections,
    rejectDuplicateSubsections: o.rejectDuplicateSubsections,
    onNote: o.onNote,
  };
}
