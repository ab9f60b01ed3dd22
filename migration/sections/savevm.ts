/**
 * Writes a whole QEMU v3 stream: header, configuration record, START sections of iterative
 * handlers, their END sections, one FULL section per needed device, EOF and the vmdesc JSON
 * trailer, in the order and layout of QEMU 7.2's qemu_savevm_state.
 * @module
 */
import { MigrationError, SaveError } from "../errors.ts";
import { QemuJsonWriter } from "../json/qemu_json_writer.ts";
import { StreamWriter } from "../stream/writer.ts";
import type { StateRecord } from "../vmstate/description.ts";
import { VmStateSaver } from "../vmstate/save.ts";
import {
  type Extensions,
  extensionsFrom,
  recordedCapabilities,
} from "../extensions/capabilities.ts";
import { TaggedSaver } from "../extensions/tagged_save.ts";
import { saveWalkOptions } from "../extensions/layers.ts";
import {
  sectionTag,
  UPSTREAM_VENDOR,
  type VersionManifest,
  writeSectionTag,
} from "../extensions/versioning.ts";
import { makeConfiguration, vmstateConfiguration } from "./configuration.ts";
import { MigCommand, QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, SectionType } from "./constants.ts";
import { sectionLabel } from "./label.ts";
import type { SectionEntry, SectionRegistry } from "./registry.ts";

/** Choices for the shape of a saved stream. */
export interface SaveOptions {
  /** Machine type name in the configuration record. */
  machine: string;
  /**
   * Ask the destination to answer on the return path (QEMU's MIG_CMD_OPEN_RETURN_PATH after the
   * configuration, as a QEMU source with `return-path` sends it): a QEMU destination then
   * confirms the load with MIG_RP_MSG_SHUT.
   */
  openReturnPath?: boolean;
  /** Target page size written in the vmdesc. */
  pageSize?: number;
  /** Send the configuration record (QEMU's send-configuration, default on). */
  sendConfiguration?: boolean;
  /** Send section footers (QEMU's send-section-footer, default on). */
  sendFooters?: boolean;
  /** Send the vmdesc JSON trailer (off = QEMU's suppress-vmdesc). */
  sendVmdesc?: boolean;
  /**
   * Capabilities that are on: QEMU's are recorded as given; snapshell's protocol extensions
   * (migration/extensions/capabilities.ts) change the encoding and are recorded; local-only
   * ones are not recorded.
   */
  capabilities?: string[];
  /** `x-vendor-versions`: this side's vendor, protocol minor and vendor features. */
  manifest?: VersionManifest;
  /** Called with the byte range of each section written (inspect maps, progress). */
  onSection?: (info: { idstr: string; type: number; start: number; end: number }) => void;
}

/** Write a section header (QEMU's save_section_header). */
export function writeSectionHeader(w: StreamWriter, e: SectionEntry, type: number): void {
  w.u8(type);
  w.be32(e.sectionId);
  if (type === SectionType.START || type === SectionType.FULL) {
    w.str8(e.idstr);
    w.be32(e.instanceId);
    w.be32(e.versionId);
  }
}

/** Write a section footer (QEMU's save_section_footer). */
export function writeSectionFooter(
  w: StreamWriter,
  e: SectionEntry,
  opts: { sendFooters?: boolean },
): void {
  if (opts.sendFooters === false) return;
  w.u8(SectionType.FOOTER);
  w.be32(e.sectionId);
}

/** Writes the header and configuration record. */
export function writeHeader(w: StreamWriter, opts: SaveOptions): void {
  w.be32(QEMU_VM_FILE_MAGIC);
  w.be32(QEMU_VM_FILE_VERSION);
  if (opts.sendConfiguration !== false) {
    w.u8(SectionType.CONFIGURATION);
    const caps = opts.capabilities ?? [];
    const vendor = extensionsFrom(caps).vendorVersions
      ? {
        vendor: opts.manifest?.vendor ?? UPSTREAM_VENDOR,
        protocolMinor: opts.manifest?.protocolMinor ?? 0,
      }
      : undefined;
    new VmStateSaver(w).save(
      vmstateConfiguration,
      makeConfiguration(opts.machine, recordedCapabilities(caps), vendor),
    );
  }
  if (opts.openReturnPath) {
    w.u8(SectionType.COMMAND);
    w.be16(MigCommand.OPEN_RETURN_PATH);
    w.be16(0);
  }
}

/** START sections of every iterative handler (QEMU's qemu_savevm_state_setup). */
export async function writeSetup(
  w: StreamWriter,
  reg: SectionRegistry,
  opts: SaveOptions,
): Promise<void> {
  for (const e of reg.ordered()) {
    if (e.iterative) await writeChunk(w, e, SectionType.START, opts, (h) => h.saveSetup(w));
  }
}

/** One framed chunk of an iterative section: header, payload, footer, then a chance to flush. */
async function writeChunk<T>(
  w: StreamWriter,
  e: SectionEntry,
  type: number,
  opts: SaveOptions,
  payload: (h: NonNullable<SectionEntry["iterative"]>) => Promise<T> | T,
): Promise<T> {
  const start = w.offset;
  writeSectionHeader(w, e, type);
  if (type === SectionType.START && extensionsFrom(opts.capabilities ?? []).vendorVersions) {
    writeSectionTag(w, []);
  }
  const result = await payload(e.iterative!);
  writeSectionFooter(w, e, opts);
  opts.onSection?.({ idstr: e.idstr, type, start, end: w.offset });
  await w.maybeFlush();
  return result;
}

/** One PART round over iterative handlers; resolves true when all report nothing left. */
export async function writeIteration(
  w: StreamWriter,
  reg: SectionRegistry,
  opts: SaveOptions,
): Promise<boolean> {
  let done = true;
  for (const e of reg.ordered()) {
    if (!e.iterative?.saveIterate) continue;
    done = (await writeChunk(w, e, SectionType.PART, opts, (h) => h.saveIterate!(w))) && done;
  }
  return done;
}

/**
 * END sections, FULL device sections, EOF and vmdesc (QEMU's complete_precopy): the part
 * written with the machine stopped.
 */
export async function writeCompletion(
  w: StreamWriter,
  reg: SectionRegistry,
  opts: SaveOptions,
): Promise<void> {
  for (const e of reg.ordered()) {
    if (e.iterative) await writeChunk(w, e, SectionType.END, opts, (h) => h.saveComplete(w));
  }
  const ext = extensionsFrom(opts.capabilities ?? []);
  // A self-describing stream is its own description: no vmdesc trailer.
  const json = ext.selfDescribing ? undefined : new QemuJsonWriter();
  json?.startObject();
  json?.int("page_size", opts.pageSize ?? 4096);
  json?.startArray("devices");
  await writeDeviceSections(w, reg, opts, json);
  json?.endArray();
  json?.endObject();
  w.u8(SectionType.EOF);
  if (opts.sendVmdesc !== false && json) {
    const text = new TextEncoder().encode(json.toString());
    const start = w.offset;
    w.u8(SectionType.VMDESCRIPTION);
    w.be32(text.length);
    w.bytes(text);
    opts.onSection?.({ idstr: "vmdesc", type: SectionType.VMDESCRIPTION, start, end: w.offset });
  }
  await w.flush();
}

/**
 * One FULL section per needed device, with its vmdesc entry when `json` is given: the device
 * part of a stop-and-copy, and of a postcopy switch-over's MIG_CMD_PACKAGED (no EOF there).
 */
export async function writeDeviceSections(
  w: StreamWriter,
  reg: SectionRegistry,
  opts: SaveOptions,
  json?: QemuJsonWriter,
): Promise<void> {
  const ext = extensionsFrom(opts.capabilities ?? []);
  for (const e of reg.ordered()) {
    if (!e.vmsd) continue;
    const state = e.state!();
    if (e.vmsd.needed && !e.vmsd.needed(state)) continue;
    if (e.presence && !e.presence.present()) continue;
    const start = w.offset;
    json?.startObject();
    json?.str("name", e.idstr);
    json?.int("instance_id", e.instanceId);
    writeSectionHeader(w, e, SectionType.FULL);
    try {
      if (e.legacy) saveLegacyPayload(w, e, state, json);
      else saveDevicePayload(w, e, state, json, ext, opts.manifest);
    } catch (err) {
      if (err instanceof MigrationError) throw err.locate({ section: sectionLabel(e) });
      throw new SaveError(`Saving "${e.idstr}" failed: ${(err as Error).message}`, {
        section: sectionLabel(e),
      }, { cause: err });
    }
    writeSectionFooter(w, e, opts);
    json?.endObject();
    opts.onSection?.({ idstr: e.idstr, type: SectionType.FULL, start, end: w.offset });
    await w.maybeFlush();
  }
}

/**
 * A whole stop-and-copy save (snapshots, QEMU's qemu_savevm_state): header, setup, PART rounds
 * until every iterative handler is done (RAM: all pages in one PART, as QEMU 7.2 writes it), then
 * completion (RAM: an END chunk with only EOS).
 */
export async function saveStream(
  w: StreamWriter,
  reg: SectionRegistry,
  opts: SaveOptions,
): Promise<void> {
  writeHeader(w, opts);
  await writeSetup(w, reg, opts);
  let done = false;
  while (!done) done = await writeIteration(w, reg, opts);
  await writeCompletion(w, reg, opts);
}

/**
 * A legacy section's payload (QEMU's vmstate_save_old_style): the bytes of its description, and
 * in the vmdesc only their size and one `data` buffer, as QEMU writes for a handler without vmsd.
 */
function saveLegacyPayload(
  w: StreamWriter,
  e: SectionEntry,
  state: StateRecord,
  json: QemuJsonWriter | undefined,
): void {
  const payload = new StreamWriter(undefined, 256);
  new VmStateSaver(payload).save(e.vmsd!, state);
  const bytes = payload.take();
  w.bytes(bytes);
  json?.int("size", bytes.length);
  json?.startArray("fields");
  json?.startObject();
  json?.str("name", "data");
  json?.int("size", bytes.length);
  json?.str("type", "buffer");
  json?.endObject();
  json?.endArray();
}

/**
 * One device section's payload with the extensions in force: QEMU's encoding (with markers when
 * asked) or the tagged one, preceded by the vendor tag when versions are on (the payload is
 * written aside first, because the tag names the vendor subsections it turned out to send).
 */
function saveDevicePayload(
  w: StreamWriter,
  e: SectionEntry,
  state: StateRecord,
  json: QemuJsonWriter | undefined,
  ext: Extensions,
  manifest: VersionManifest | undefined,
): void {
  const sent: string[] = [];
  const onSubsection = ext.vendorVersions ? (name: string) => sent.push(name) : undefined;
  const target = ext.vendorVersions ? new StreamWriter(undefined, 1024) : w;
  if (ext.selfDescribing) {
    new TaggedSaver(target, { onSubsection }).save(e.vmsd!, state);
  } else {
    new VmStateSaver(
      target,
      saveWalkOptions({
        ptrMarkers: ext.ptrMarkers,
        vmsdMarkers: ext.vmsdMarkers,
        onSubsection,
      }),
    ).save(e.vmsd!, state, undefined, json);
  }
  if (target !== w) {
    writeSectionTag(w, sectionTag(manifest, e.idstr, sent));
    w.bytes(target.take());
  }
}
