/**
 * Reads a whole QEMU v3 stream into a registry's entries, transactionally: every device section
 * is decoded into a staged copy of its record and every iterative handler keeps its data aside,
 * and nothing becomes live until the stream ended cleanly and every check passed
 * (QEMU's qemu_loadvm_state, minus its half-loaded failure mode).
 * @module
 */
import {
  FooterError,
  IncompatibleError,
  MigrationError,
  StreamFormatError,
  UnknownEntityError,
  VersionMismatchError,
} from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StateRecord } from "../vmstate/description.ts";
import { loadState } from "../vmstate/load.ts";
import { type ExtensionLoadOptions, loadWalkOptions } from "../extensions/layers.ts";
import {
  type Extensions,
  extensionsFrom,
  extensionsFromStream,
  mergeExtensions,
  NO_EXTENSIONS,
} from "../extensions/capabilities.ts";
import { loadTaggedState } from "../extensions/tagged_load.ts";
import {
  judgeSectionTag,
  readSectionTag,
  requireLoadable,
  type SectionVerdict,
  type VendorMinor,
  type VersionManifest,
} from "../extensions/versioning.ts";
import {
  checkMachineName,
  type ConfigurationState,
  makeConfiguration,
  vmstateConfiguration,
} from "./configuration.ts";
import {
  MigCommand,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  QEMU_VM_FILE_VERSION_COMPAT,
  SectionType,
} from "./constants.ts";
import type { SectionEntry, SectionRegistry } from "./registry.ts";
import { sectionLabel } from "./label.ts";
import { describeCommand } from "./postcopy_commands.ts";
import { cloneRecord } from "../vmstate/clone.ts";

/** Loader policy. */
export interface LoadStreamOptions extends ExtensionLoadOptions {
  /** Local machine type the configuration record must match. */
  machine: string;
  /** Expect the configuration record (QEMU's send-configuration, default on). */
  expectConfiguration?: boolean;
  /** Expect section footers (default on). */
  expectFooters?: boolean;
  /** Fail when a registered device section is absent from the stream (default on). */
  requireAllSections?: boolean;
  /** Fail on bytes after the vmdesc trailer (default on). */
  rejectTrailingData?: boolean;
  /** Observe each section as it is decoded (progress, replay logs). */
  onSection?: (info: { idstr: string; instanceId: number; type: number; offset: number }) => void;
  /**
   * This side's capabilities. The stream's recorded ones decide its encoding; of these only the
   * load policies apply (`x-strict-subsections`, `x-skip-unknown-subsections`).
   */
  capabilities?: string[];
  /** `x-vendor-versions`: this side's vendor features, to judge each section's tag. */
  manifest?: VersionManifest;
  /** Decode and check everything, then commit nothing ("can this stream load here?"). */
  dryRun?: boolean;
  /** Observe each section's vendor verdict as it is judged (before its data is read). */
  onVerdict?: (verdict: SectionVerdict) => void;
  /**
   * Handle a QEMU_VM_COMMAND this loader does not know (postcopy's, harness/migration): given
   * its number, payload and offset; "quit" ends the load there (MIG_CMD_POSTCOPY_RUN: the device
   * state is committed while the RAM section goes on). Without it such a command is an error.
   */
  onCommand?: (cmd: number, payload: Uint8Array, offset: number) => "continue" | "quit";
}

/** What a successful load found. */
export interface LoadReport {
  /** Configuration record received. */
  configuration?: ConfigurationState;
  /** Sections loaded, in stream order (START/FULL ones with their version and vendor tag). */
  sections: {
    idstr: string;
    instanceId: number;
    /** The stream's section id (START and FULL). */
    sectionId?: number;
    type: number;
    offset: number;
    version?: number;
    vendor?: VendorMinor[];
  }[];
  /** The protocol extensions the stream used, plus this side's load policies. */
  extensions?: Extensions;
  /** What the loader tolerated (skipped subsections and fields, defaulted fields). */
  notes?: string[];
  /** Size of the vmdesc trailer, if one was present. */
  vmdescBytes?: number;
  /** Total bytes consumed. */
  bytes: number;
  /** True when a command ended the load before EOF (postcopy: RAM still arriving). */
  quitEarly?: boolean;
}

interface Pending {
  entry: SectionEntry;
  staged?: StateRecord;
  ended: boolean;
}

/** Load a stream into the registry's entries; throws a MigrationError and changes nothing on failure. */
export async function loadStream(
  r: StreamReader,
  reg: SectionRegistry,
  opts: LoadStreamOptions,
): Promise<LoadReport> {
  const byId = new Map<number, Pending>();
  const byEntry = new Map<SectionEntry, Pending>();
  const report: LoadReport = { sections: [], bytes: 0 };
  let committed = false;
  try {
    await r.retrying(() => readHeader(r));
    let streamExt = NO_EXTENSIONS;
    if (opts.expectConfiguration !== false) {
      const at = r.offset;
      report.configuration = await r.retrying(() => readConfiguration(r, opts));
      streamExt = extensionsFromStream(report.configuration.capabilities, at);
    }
    const ext = mergeExtensions(streamExt, extensionsFrom(opts.capabilities ?? []));
    report.extensions = ext;
    const notes: string[] = [];
    for (;;) {
      await r.ensure(1).catch((e) => {
        throw e instanceof MigrationError
          ? new StreamFormatError("Stream ends before EOF marker", { offset: r.offset })
          : e;
      });
      const offset = r.offset;
      const type = r.peekU8(0)!;
      if (type === SectionType.EOF) {
        r.skip(1);
        break;
      }
      if (type === SectionType.START || type === SectionType.FULL) {
        const head = await r.retrying(() => {
          r.skip(1);
          const sectionId = r.be32();
          const idstr = r.str8();
          const instanceId = r.be32();
          const versionId = r.be32();
          const vendor = ext.vendorVersions ? readSectionTag(r) : undefined;
          return { sectionId, idstr, instanceId, versionId, vendor };
        });
        const entry = reg.find(head.idstr, head.instanceId);
        const label = sectionLabel(head);
        if (!entry) {
          throw new UnknownEntityError(
            `Unknown section or instance '${head.idstr}' ${head.instanceId}. Make sure that your current VM setup matches your saved VM setup`,
            { offset, section: label },
          );
        }
        if (head.vendor) {
          const verdict = judgeSectionTag(head.idstr, head.vendor, opts.manifest, entry.vmsd);
          opts.onVerdict?.(verdict);
          requireLoadable(verdict, offset);
        }
        // A tagged section may be newer: it loads as far as this side understands it.
        if (head.versionId > entry.versionId && !(ext.selfDescribing && entry.vmsd)) {
          throw new VersionMismatchError(head.idstr, head.versionId, 0, entry.versionId, {
            offset,
            section: label,
          });
        }
        if (byId.has(head.sectionId) || byEntry.has(entry)) {
          throw new StreamFormatError(
            `Section '${label}' (id ${head.sectionId}) appears twice in the stream`,
            { offset, section: label },
          );
        }
        const pending: Pending = { entry, ended: type === SectionType.FULL };
        byId.set(head.sectionId, pending);
        byEntry.set(entry, pending);
        opts.onSection?.({ idstr: entry.idstr, instanceId: entry.instanceId, type, offset });
        report.sections.push({
          idstr: entry.idstr,
          instanceId: entry.instanceId,
          type,
          offset,
          sectionId: head.sectionId,
          version: head.versionId,
          vendor: head.vendor,
        });
        if (type === SectionType.FULL) {
          if (!entry.vmsd) {
            throw new StreamFormatError(`Section '${label}' is iterative but arrived as FULL`, {
              offset,
              section: label,
            });
          }
          pending.staged = await r.retrying(() => {
            const staged = stageState(entry, label);
            // Notes of an attempt cut short for more input are dropped with it.
            const sectionNotes: string[] = [];
            loadDevice(r, entry, staged, head.versionId, opts, ext, (n) => sectionNotes.push(n));
            readFooter(r, head.sectionId, label, opts);
            notes.push(...sectionNotes.map((n) => `${label}: ${n}`));
            return staged;
          }).catch((e) => {
            throw e instanceof MigrationError ? e.locate({ section: label }) : e;
          });
        } else {
          if (!entry.iterative) {
            throw new StreamFormatError(
              `Section '${label}' is not iterative but arrived as START`,
              { offset, section: label },
            );
          }
          await loadChunk(r, pending, head.versionId, "start", head.sectionId, label, opts);
        }
        continue;
      }
      if (type === SectionType.PART || type === SectionType.END) {
        const sectionId = await r.retrying(() => {
          r.skip(1);
          return r.be32();
        });
        const pending = byId.get(sectionId);
        if (!pending || !pending.entry.iterative) {
          throw new StreamFormatError(
            `Unknown section id ${sectionId} in a ${type === 2 ? "PART" : "END"} chunk`,
            { offset },
          );
        }
        const label = sectionLabel(pending.entry);
        if (pending.ended) {
          throw new StreamFormatError(`Section '${label}' continues after its END chunk`, {
            offset,
            section: label,
          });
        }
        opts.onSection?.({
          idstr: pending.entry.idstr,
          instanceId: pending.entry.instanceId,
          type,
          offset,
        });
        report.sections.push({
          idstr: pending.entry.idstr,
          instanceId: pending.entry.instanceId,
          type,
          offset,
        });
        await loadChunk(
          r,
          pending,
          pending.entry.versionId,
          type === SectionType.END ? "end" : "part",
          sectionId,
          label,
          opts,
        );
        if (type === SectionType.END) pending.ended = true;
        continue;
      }
      if (type === SectionType.COMMAND) {
        if ((await r.retrying(() => readCommand(r, opts.onCommand, reg))) === "quit") {
          report.quitEarly = true;
          break;
        }
        continue;
      }
      throw new StreamFormatError(`Unknown savevm section type ${type}`, { offset });
    }
    if (!report.quitEarly) report.vmdescBytes = await readTrailer(r, opts);
    for (const p of byEntry.values()) {
      if (!p.ended && !report.quitEarly) {
        throw new StreamFormatError(`Section '${sectionLabel(p.entry)}' has no END chunk`, {
          section: sectionLabel(p.entry),
          offset: r.offset,
        });
      }
    }
    if (opts.requireAllSections !== false) {
      for (const e of reg.entries) {
        const needed = e.presence
          ? false
          : e.vmsd
          ? (!e.vmsd.needed || e.vmsd.needed(e.state!()))
          : true;
        if (!byEntry.has(e) && needed) {
          throw new UnknownEntityError(`Section '${sectionLabel(e)}' is missing from the stream`, {
            section: sectionLabel(e),
          });
        }
      }
    }
    const stagedOf = (idstr: string, instanceId = 0) => {
      const e = reg.find(idstr, instanceId);
      return e ? byEntry.get(e)?.staged : undefined;
    };
    for (const check of reg.stagedChecks) check(stagedOf);
    report.bytes = r.offset;
    if (notes.length) report.notes = notes;
    if (opts.dryRun) return report;
    reg.commit(byEntry.values());
    committed = true;
    for (const e of reg.entries) e.presence?.loaded(byEntry.has(e));
    return report;
  } finally {
    if (!committed) { for (const p of byEntry.values()) p.entry.iterative?.abort(); }
  }
}

/** One device section's payload, decoded with the extensions the stream and this side use. */
function loadDevice(
  r: StreamReader,
  entry: SectionEntry,
  staged: StateRecord,
  version: number,
  opts: LoadStreamOptions,
  ext: Extensions,
  onNote: (note: string) => void,
): void {
  if (ext.selfDescribing) {
    loadTaggedState(r, entry.vmsd!, staged, {
      skipUnknownSubsections: ext.skipUnknownSubsections,
      onNote,
    });
    return;
  }
  loadState(
    r,
    entry.vmsd!,
    staged,
    version,
    loadWalkOptions({
      ...opts,
      subsectionMatch: ext.strictSubsections ? "strict" : opts.subsectionMatch,
      ptrMarkers: ext.ptrMarkers,
      vmsdMarkers: ext.vmsdMarkers,
      skipUnknownSubsections: ext.skipUnknownSubsections,
      onNote,
    }),
  );
}

/** A private copy of a device's live record to load into; the live one stays untouched. */
function stageState(entry: SectionEntry, label: string): StateRecord {
  try {
    return entry.stage ? entry.stage() : cloneRecord(entry.state!());
  } catch (e) {
    throw new MigrationError(
      "environment",
      `State of '${label}' is not plain data and cannot be staged for a load: ${
        (e as Error).message
      }`,
      { section: label },
      { cause: e },
    );
  }
}

/**
 * After EOF: the optional vmdesc trailer, whose length is checked but whose JSON is never
 * trusted for loading, then (by default) nothing else.
 */
async function readTrailer(r: StreamReader, opts: LoadStreamOptions): Promise<number | undefined> {
  if (r.buffered === 0) await r.fill();
  let vmdescBytes: number | undefined;
  if (r.buffered > 0 && r.peekU8(0) === SectionType.VMDESCRIPTION) {
    await r.ensure(5);
    r.skip(1);
    const len = r.be32();
    r.checkAvailable(len, "vmdesc trailer");
    for (let left = len; left > 0;) {
      if (r.buffered === 0) await r.ensure(1);
      const n = Math.min(left, r.buffered);
      r.skip(n);
      left -= n;
    }
    vmdescBytes = len;
  }
  if (opts.rejectTrailingData !== false) {
    if (r.buffered === 0) await r.fill();
    if (r.buffered > 0) {
      throw new StreamFormatError("Unexpected data after the end of the stream", {
        offset: r.offset,
      });
    }
  }
  return vmdescBytes;
}

/** Check magic and version (QEMU's messages); shared with {@link readPreamble}. */
export function readHeader(r: StreamReader): void {
  const magic = r.be32();
  if (magic !== QEMU_VM_FILE_MAGIC) {
    throw new StreamFormatError(
      `Not a migration stream: magic 0x${magic.toString(16)} != 0x${
        QEMU_VM_FILE_MAGIC.toString(16)
      }`,
      { offset: 0 },
    );
  }
  const version = r.be32();
  if (version === QEMU_VM_FILE_VERSION_COMPAT) {
    throw new StreamFormatError("SaveVM v2 format is obsolete and no longer supported", {
      offset: 4,
    });
  }
  if (version !== QEMU_VM_FILE_VERSION) {
    throw new StreamFormatError(`Unsupported migration stream version ${version}`, { offset: 4 });
  }
}

function readConfiguration(r: StreamReader, opts: LoadStreamOptions): ConfigurationState {
  const at = r.offset;
  const t = r.u8();
  if (t !== SectionType.CONFIGURATION) {
    throw new StreamFormatError(`Configuration section missing (found byte 0x${t.toString(16)})`, {
      offset: at,
    });
  }
  const conf = makeConfiguration("");
  // The record announces the extensions, so it is always in QEMU's plain encoding.
  loadState(
    r,
    vmstateConfiguration,
    conf,
    0,
    loadWalkOptions({ ...opts, vmsdMarkers: false, ptrMarkers: false }),
  );
  checkMachineName(conf, opts.machine, at);
  return conf;
}

function readFooter(
  r: StreamReader,
  sectionId: number,
  label: string,
  opts: LoadStreamOptions,
): void {
  if (opts.expectFooters === false) return;
  const at = r.offset;
  const b = r.u8();
  if (b !== SectionType.FOOTER) {
    throw new FooterError(`Missing section footer for ${label} (found byte 0x${b.toString(16)})`, {
      offset: at,
      section: label,
    });
  }
  const id = r.be32();
  if (id !== sectionId) {
    throw new FooterError(
      `Mismatched section id in footer for ${label} - read 0x${id.toString(16)} expected 0x${
        sectionId.toString(16)
      }`,
      { offset: at, section: label },
    );
  }
}

async function loadChunk(
  r: StreamReader,
  p: Pending,
  version: number,
  phase: "start" | "part" | "end",
  sectionId: number,
  label: string,
  opts: LoadStreamOptions,
): Promise<void> {
  try {
    await p.entry.iterative!.load(r, version, phase);
    await r.retrying(() => readFooter(r, sectionId, label, opts));
  } catch (e) {
    if (e instanceof MigrationError) e.locate({ section: label });
    throw e;
  }
}

/** Postcopy commands a whole-stream load passes over, with their payload length (-1: varies). */
const OFFLINE_POSTCOPY = new Map<number, number>([
  [MigCommand.OPEN_RETURN_PATH, 0],
  [MigCommand.POSTCOPY_ADVISE, -1],
  [MigCommand.POSTCOPY_RAM_DISCARD, -1],
  [MigCommand.PACKAGED, 4],
  [MigCommand.POSTCOPY_LISTEN, 0],
  [MigCommand.POSTCOPY_RUN, 0],
]);

/** What of the RAM section a whole-stream load of a postcopy stream checks its commands with. */
interface PostcopyRam {
  readonly pageSize: number;
  discard(idstr: string, start: number, length: number, at: number): void;
}

/** The registry's RAM section when it can take postcopy's discards (migration/ram). */
function postcopyRam(reg: SectionRegistry): PostcopyRam | undefined {
  for (const e of reg.entries) {
    const h = e.iterative as Partial<PostcopyRam> | undefined;
    if (h && typeof h.discard === "function" && typeof h.pageSize === "number") {
      return h as PostcopyRam;
    }
  }
  return undefined;
}

function readCommand(
  r: StreamReader,
  onCommand: LoadStreamOptions["onCommand"],
  reg: SectionRegistry,
): "continue" | "quit" {
  const at = r.offset;
  r.skip(1);
  const cmd = r.be16();
  const len = r.be16();
  if (onCommand && cmd !== MigCommand.SWITCHOVER_START) {
    return onCommand(cmd, r.bytes(len), at);
  }
  const payload = r.bytes(len);
  if (cmd === MigCommand.SWITCHOVER_START && len === 0) return "continue";
  if (cmd === MigCommand.PING && len === 4) return "continue";
  // A postcopy stream read whole (a file, `check`): its commands are checked and passed over;
  // the pages they discard come again later in the stream, PACKAGED's content follows inline.
  if (OFFLINE_POSTCOPY.has(cmd)) {
    const d = describeCommand(cmd, payload, at);
    const bad = d.problem ??
      (OFFLINE_POSTCOPY.get(cmd)! < 0 || len === OFFLINE_POSTCOPY.get(cmd)
        ? undefined
        : `length ${len}, expected ${OFFLINE_POSTCOPY.get(cmd)}`);
    if (bad) throw new StreamFormatError(`${d.name}: ${bad}`, { offset: at, path: "command" });
    // As a live destination does: page sizes must match, discards must fit their block.
    const ram = postcopyRam(reg);
    if (ram && cmd === MigCommand.POSTCOPY_ADVISE && len === 16) {
      const { pageSizeSummary, targetPageSize } = d.fields;
      if (pageSizeSummary !== ram.pageSize || targetPageSize !== ram.pageSize) {
        throw new IncompatibleError(
          `Postcopy needs matching page sizes: source ${pageSizeSummary}/${targetPageSize}, ` +
            `here ${ram.pageSize}`,
          { offset: at, path: "advise.pagesize" },
        );
      }
    }
    if (ram && cmd === MigCommand.POSTCOPY_RAM_DISCARD) {
      for (const [start, length] of d.fields.ranges as [number, number][]) {
        ram.discard(d.fields.block as string, start, length, at);
      }
    }
    return "continue";
  }
  throw new StreamFormatError(`Unsupported migration command ${cmd} (length ${len})`, {
    offset: at,
  });
}
