/**
 * Non-linear versioning (`x-vendor-versions`), as Anthony Liguori proposed in the 2009 "optional
 * feature" thread: beside QEMU's linear major version, each section carries the minor versions
 * of the vendors whose additions it uses, each vendor named by reverse domain name. A vendor
 * feature is a subsection that vendor added in one of its minor versions; a section's tag names
 * only the features this particular save actually sent, so a VM that does not use a backported
 * feature still migrates to a side without it, decided programmatically.
 *
 * Wire, right after the section header of a START/FULL section:
 * `u8 count ; count × (str8 vendor ; be32 minor ; u8 n ; n × str8 subsection)`.
 * The stream's own vendor and protocol minor travel in `configuration/vendor`.
 * @module
 */
import { MigrationError, type MigrationErrorLocation } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import type { VmStateDescription } from "../vmstate/description.ts";

/** Upstream QEMU's vendor id: minor 0 everywhere. */
export const UPSTREAM_VENDOR = "org.qemu";
/** snapshell's vendor id. */
export const SNAPSHELL_VENDOR = "org.snapshell";

/** A subsection one vendor added to one section, in one of its minor versions. */
export interface VendorFeature {
  /** Section idstr. */
  readonly section: string;
  /** Full subsection name. */
  readonly subsection: string;
  /** Reverse domain name of the vendor. */
  readonly vendor: string;
  /** The vendor's minor version that introduced it (1 and up). */
  readonly minor: number;
}

/** What one side is: its vendor, protocol minor, and the vendor features it implements. */
export interface VersionManifest {
  /** Vendor id of this build. */
  readonly vendor: string;
  /** Minor version of the savevm protocol for that vendor. */
  readonly protocolMinor: number;
  /** Features this side can save and load. */
  readonly features: readonly VendorFeature[];
}

/** Upstream QEMU 7.2: no vendor features. */
export const QEMU_MANIFEST: VersionManifest = Object.freeze({
  vendor: UPSTREAM_VENDOR,
  protocolMinor: 0,
  features: [],
});

/** The snapshell `virt` machine: the UART's timed input queue is a snapshell addition. */
export const SNAPSHELL_MANIFEST: VersionManifest = Object.freeze({
  vendor: SNAPSHELL_VENDOR,
  protocolMinor: 1,
  features: [{
    section: "serial",
    subsection: "serial/snapshell-input",
    vendor: SNAPSHELL_VENDOR,
    minor: 1,
  }],
});

/** One vendor's entry in a section tag. */
export interface VendorMinor {
  /** Vendor id. */
  readonly vendor: string;
  /** Highest minor of that vendor among the features sent. */
  readonly minor: number;
  /** The feature subsections sent, for explanations. */
  readonly features: readonly string[];
}

/** A version question that could not be answered with "yes" (kind incompatible). */
export class VendorVersionError extends MigrationError {
  constructor(reason: string, where: MigrationErrorLocation = {}) {
    super("incompatible", reason, where);
  }
}

/** The tag of one section: its vendor features among the subsections a save sent. */
export function sectionTag(
  manifest: VersionManifest | undefined,
  section: string,
  sentSubsections: Iterable<string>,
): VendorMinor[] {
  if (!manifest) return [];
  const byVendor = new Map<string, { minor: number; features: string[] }>();
  const sent = new Set(sentSubsections);
  for (const f of manifest.features) {
    if (f.section !== section || !sent.has(f.subsection)) continue;
    const v = byVendor.get(f.vendor) ?? { minor: 0, features: [] };
    v.minor = Math.max(v.minor, f.minor);
    v.features.push(f.subsection);
    byVendor.set(f.vendor, v);
  }
  return [...byVendor].map(([vendor, v]) => ({ vendor, ...v }));
}

/** Write a section tag. */
export function writeSectionTag(w: StreamWriter, tag: readonly VendorMinor[]): void {
  w.u8(tag.length);
  for (const t of tag) {
    w.str8(t.vendor);
    w.be32(t.minor);
    w.u8(t.features.length);
    for (const f of t.features) w.str8(f);
  }
}

/** Read a section tag. */
export function readSectionTag(r: StreamReader): VendorMinor[] {
  const n = r.u8();
  const out: VendorMinor[] = [];
  for (let i = 0; i < n; i++) {
    const vendor = r.str8();
    const minor = r.be32();
    const k = r.u8();
    const features: string[] = [];
    for (let j = 0; j < k; j++) features.push(r.str8());
    out.push({ vendor, minor, features });
  }
  return out;
}

/** Every subsection name in a description tree (nested structs included). */
export function subsectionNames(vmsd: VmStateDescription, out = new Set<string>()): Set<string> {
  for (const s of vmsd.subsections ?? []) {
    out.add(s.name);
    subsectionNames(s, out);
  }
  for (const f of vmsd.fields) if (f.vmsd) subsectionNames(f.vmsd, out);
  return out;
}

/** The answer for one section, with its reasons. */
export interface SectionVerdict {
  /** Section idstr. */
  readonly section: string;
  /** True when this side can load what the source sent. */
  readonly ok: boolean;
  /** One line per fact that decided it. */
  readonly reasons: string[];
}

/**
 * Can this side load a section with this tag? Per vendor: a vendor this side implements
 * decides by its minor number; for any other vendor, this side must have every feature the
 * source sent (a backport under another vendor id counts).
 */
export function judgeSectionTag(
  section: string,
  tag: readonly VendorMinor[],
  local: VersionManifest | undefined,
  localVmsd: VmStateDescription | undefined,
): SectionVerdict {
  const reasons: string[] = [];
  let ok = true;
  const have = localVmsd ? subsectionNames(localVmsd) : new Set<string>();
  for (const t of tag) {
    const mine = (local?.features ?? []).filter((f) =>
      f.section === section && f.vendor === t.vendor
    );
    const sent = t.features.length ? ` (sent: ${t.features.join(", ")})` : "";
    if (mine.length) {
      const localMinor = Math.max(...mine.map((f) => f.minor));
      if (t.minor <= localMinor) {
        reasons.push(`${t.vendor} minor ${t.minor}${sent} <= this side's ${localMinor}: ok`);
      } else {
        ok = false;
        reasons.push(
          `${t.vendor} minor ${t.minor}${sent} is newer than this side's ${localMinor}: cannot load`,
        );
      }
      continue;
    }
    const missing = t.features.filter((f) => !have.has(f));
    if (missing.length === 0) {
      reasons.push(
        `${t.vendor} minor ${t.minor}${sent} is not a vendor this side implements, but it has every feature sent: ok`,
      );
    } else {
      ok = false;
      reasons.push(
        `${t.vendor} minor ${t.minor}${sent}: this side lacks ${missing.join(", ")}: cannot load`,
      );
    }
  }
  if (tag.length === 0) reasons.push("no vendor features used (upstream layout): ok");
  return { section, ok, reasons };
}

/** Throw the verdict as a typed error when it is "no". */
export function requireLoadable(v: SectionVerdict, offset: number): void {
  if (v.ok) return;
  throw new VendorVersionError(`Section '${v.section}': ${v.reasons.join("; ")}`, {
    offset,
    section: v.section,
  });
}
