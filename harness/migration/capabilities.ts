/**
 * QEMU's migration capabilities that change how a live migration runs (migrate-set-capabilities):
 * `xbzrle`, `auto-converge`, `pause-before-switchover`, `postcopy-ram`. They are settings of the
 * migrating side and never travel in the stream's configuration record (QEMU records only
 * x-ignore-shared there); snapshell's protocol extensions are a separate catalogue
 * (migration/extensions/capabilities.ts).
 * @module
 */

/** The switches precopy reads, QEMU's defaults all off. */
export interface MigrationCapabilities {
  /** Resent pages go as XBZRLE deltas against a page cache (xbzrle-cache-size). */
  xbzrle: boolean;
  /** Throttle the guest while it dirties memory faster than the link carries it. */
  autoConverge: boolean;
  /** Stop in `pre-switchover` before the stop-and-copy until migrate-continue. */
  pauseBeforeSwitchover: boolean;
  /** Allow migrate-start-postcopy (and postcopy-after-rounds); tcp: only (a return path). */
  postcopyRam: boolean;
}

/** One capability for listings: QEMU's name, its switch and one line about it. */
export interface MigrationCapabilityInfo {
  readonly name: string;
  readonly key: keyof MigrationCapabilities;
  readonly summary: string;
  /** Set when snapshell cannot do it yet: switching it on is refused with this reason. */
  readonly unavailable?: string;
}

/** Every capability off, as QEMU starts. */
export const NO_MIGRATION_CAPABILITIES: Readonly<MigrationCapabilities> = Object.freeze({
  xbzrle: false,
  autoConverge: false,
  pauseBeforeSwitchover: false,
  postcopyRam: false,
});

/** The catalogue, in QEMU's `info migrate_capabilities` order. */
export const MIGRATION_CAPABILITIES: readonly MigrationCapabilityInfo[] = Object.freeze([
  {
    name: "xbzrle",
    key: "xbzrle",
    summary: "resend dirty pages as XBZRLE deltas against a page cache (xbzrle-cache-size)",
  },
  {
    name: "auto-converge",
    key: "autoConverge",
    summary: "throttle the guest while dirtying outpaces the link (cpu-throttle-initial/increment)",
  },
  {
    name: "pause-before-switchover",
    key: "pauseBeforeSwitchover",
    summary: "wait in pre-switchover before the stop-and-copy until migrate-continue",
  },
  {
    name: "postcopy-ram",
    key: "postcopyRam",
    summary: "allow migrate-start-postcopy: the destination runs at once and pulls the rest",
  },
]);

const byName = new Map(MIGRATION_CAPABILITIES.map((c) => [c.name, c]));

/** The catalogue entry of a QEMU migration capability name, if it is one. */
export function migrationCapabilityInfo(name: string): MigrationCapabilityInfo | undefined {
  return byName.get(name);
}

/** The names of the capabilities that are on, in catalogue order. */
export function capabilitiesOn(c: MigrationCapabilities): string[] {
  return MIGRATION_CAPABILITIES.filter((i) => c[i.key]).map((i) => i.name);
}
