/**
 * The catalogue of snapshell's protocol extensions, each an opt-in migration capability in
 * QEMU's sense. "Recorded" capabilities change the bytes of a stream, so the source lists them
 * in the configuration record (`configuration/capabilities`, as QEMU does for its validated
 * capabilities) and the destination decodes accordingly; a QEMU 7.2 destination rejects such a
 * stream up front with "Received unknown capability" instead of misreading it. "Local"
 * capabilities are load policies of one side and never travel. With every capability off a
 * stream is byte-identical to QEMU 7.2's.
 * @module
 */
import { UnknownEntityError } from "../errors.ts";

/** What one capability is, for `capabilities` listings and the configuration record. */
export interface CapabilityInfo {
  /** The name on the wire and in `set capability NAME on|off`. */
  readonly name: string;
  /** The {@link Extensions} switch it turns on. */
  readonly key: keyof Extensions;
  /** True when the capability changes the stream and is recorded in the configuration record. */
  readonly recorded: boolean;
  /** One line for listings. */
  readonly summary: string;
  /** The qemu-devel thread that argued for it. */
  readonly thread: string;
}

/** The switches the engine reads; every one defaults to off (QEMU 7.2 behaviour). */
export interface Extensions {
  /** Every pointer array slot carries a 0x30/0x31 presence marker (not only AUTO_ALLOC ones). */
  readonly ptrMarkers: boolean;
  /** Every description is bracketed by START (0x7b, be32 length) and END (0x7d) markers. */
  readonly vmsdMarkers: boolean;
  /** Subsections are attributed only to `parent/...` names (plus declared legacy names). */
  readonly strictSubsections: boolean;
  /** Each section carries vendor ids and minor versions next to its major version. */
  readonly vendorVersions: boolean;
  /** Device sections use the tagged, self-describing encoding. */
  readonly selfDescribing: boolean;
  /** Local: a subsection this side does not know is skipped (needs markers or tagged data). */
  readonly skipUnknownSubsections: boolean;
}

/** Every switch off: QEMU 7.2's protocol. */
export const NO_EXTENSIONS: Extensions = Object.freeze({
  ptrMarkers: false,
  vmsdMarkers: false,
  strictSubsections: false,
  vendorVersions: false,
  selfDescribing: false,
  skipUnknownSubsections: false,
});

/** All capabilities, in the order they are recorded and listed. */
export const CAPABILITIES: readonly CapabilityInfo[] = Object.freeze([
  {
    name: "x-ptr-markers",
    key: "ptrMarkers",
    recorded: true,
    summary: "presence marker (0x30 NULL / 0x31 present) before every pointer-array slot",
    thread: "[RFC PATCH v1 13/17] vmstate: Drop VMS_ARRAY_OF_POINTER_AUTO_ALLOC (2026-03)",
  },
  {
    name: "x-vmsd-markers",
    key: "vmsdMarkers",
    recorded: true,
    summary: "START/END markers with a length around every description and subsection",
    thread: "Peter Xu, subsection '/' separator thread (2026-03-12)",
  },
  {
    name: "x-strict-subsections",
    key: "strictSubsections",
    recorded: true,
    summary: "subsections belong to a parent only as 'parent/name' (legacyName excepted)",
    thread: "Peter Maydell / Peter Xu, subsection '/' separator thread (2026-03-12)",
  },
  {
    name: "x-vendor-versions",
    key: "vendorVersions",
    recorded: true,
    summary: "per-section vendor id (reverse DNS) and minor version beside the major version",
    thread: "Anthony Liguori, 'Re: optional feature' (2009-09-16)",
  },
  {
    name: "x-self-describing",
    key: "selfDescribing",
    recorded: true,
    summary: "tagged encoding: every description and field carries its name and length",
    thread: "Vladimir Sementsov-Ogievskiy / Peter Xu, context-free stream (2025-10-16)",
  },
  {
    name: "x-skip-unknown-subsections",
    key: "skipUnknownSubsections",
    recorded: false,
    summary: "load policy: skip a subsection this side does not know (markers or tagged only)",
    thread: "Vladimir Sementsov-Ogievskiy, downstream-only subsection (2026-03-12)",
  },
]);

const byName = new Map(CAPABILITIES.map((c) => [c.name, c]));

/** The catalogue entry of a capability name, if snapshell knows it. */
export function capabilityInfo(name: string): CapabilityInfo | undefined {
  return byName.get(name);
}

/** Switches for a set of capability names; names snapshell does not know are ignored. */
export function extensionsFrom(names: Iterable<string>): Extensions {
  const out: { -readonly [K in keyof Extensions]: boolean } = { ...NO_EXTENSIONS };
  for (const n of names) {
    const info = byName.get(n);
    if (info) out[info.key] = true;
  }
  return out;
}

/**
 * Switches for the capabilities a stream recorded; like QEMU, a name this side does not know
 * (or one that is a local policy and should never travel) fails the load before any device data.
 */
export function extensionsFromStream(names: Iterable<string>, offset?: number): Extensions {
  for (const n of names) {
    const info = byName.get(n);
    if (!info || !info.recorded) {
      throw new UnknownEntityError(`Received unknown capability ${n}`, {
        offset,
        section: "configuration",
      });
    }
  }
  return extensionsFrom(names);
}

/** The names to record in the configuration record: the recorded ones that are on, in order. */
export function recordedCapabilities(names: Iterable<string>): string[] {
  const on = new Set(names);
  const known = CAPABILITIES.filter((c) => c.recorded && on.has(c.name)).map((c) => c.name);
  // Names snapshell does not know (QEMU's own, such as x-ignore-shared) are passed through.
  const foreign = [...on].filter((n) => !byName.has(n));
  return [...foreign, ...known];
}

/** Both sides' switches merged: what the stream recorded plus this side's local policies. */
export function mergeExtensions(stream: Extensions, local: Extensions): Extensions {
  return {
    ...stream,
    strictSubsections: stream.strictSubsections || local.strictSubsections,
    skipUnknownSubsections: local.skipUnknownSubsections,
  };
}
