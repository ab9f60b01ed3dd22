/**
 * The schema-less stream walker: header, configuration, sections, footers, EOF and vmdesc,
 * decoding VMSD payloads from the vmdesc trailer (as analyze-migration.py does) and RAM from its
 * fixed format. It never stops at the first problem: whatever cannot be decoded becomes a
 * structured warning with a byte offset, and the walk goes on wherever it safely can.
 * @module
 */
import { describeCommand } from "../sections/postcopy_commands.ts";
import { MigrationError, StreamFormatError, StreamTruncatedError } from "../errors.ts";
import { StreamReader } from "../stream/reader.ts";
import type { InspectInput } from "./input.ts";
import type {
  InspectResult,
  InspectWarning,
  PayloadKind,
  SectionChunk,
  SectionState,
} from "./model.ts";
import { QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, SectionType } from "../sections/constants.ts";
import { decodeRamChunk, type RamSink } from "./ram.ts";
import { bufferAtLeast, scanToFooter } from "./scan.ts";
import {
  type DeviceDesc,
  deviceKey,
  locateExactInTail,
  locateVmdescInTail,
  parseTrailer,
  type VmDesc,
  type VmDescLocation,
} from "./vmdesc.ts";
import { decodeVmsd, type WarnFn } from "./vmsd.ts";
import { decodeConfiguration } from "./config.ts";
import { decodeHtabChunk } from "./htab.ts";

/** What the caller wants beyond the default summary. */
export interface InspectOptions {
  /** Keep every page's contents for the `memory` key (analyze-migration `-m`). */
  dumpMemory?: boolean;
  /** Receive RAM pages as they stream past (extract). */
  sink?: RamSink;
  /** Bytes of the tail searched for the vmdesc (default 16 MiB). */
  tailBytes?: number;
}

const DEFAULT_TAIL = 16 * 1024 * 1024;
/** The tail searched first for an exact trailer. */
const FIRST_TAIL = 256 * 1024;

/** Decode a whole stream into an {@link InspectResult}; never throws for stream content. */
export async function inspect(
  input: InspectInput,
  opts: InspectOptions = {},
): Promise<InspectResult> {
  const pre: InspectWarning[] = [];
  let found: Trailer | undefined;
  if (input.tail && input.size !== undefined) {
    const most = opts.tailBytes ?? DEFAULT_TAIL;
    // A vmdesc is mostly well under 256 KiB: look there first (an exact find is the same in any
    // tail that holds it), and read the whole tail only when that fails.
    let tail = await input.tail(Math.min(most, FIRST_TAIL));
    let loc = locateExactInTail(tail, input.size);
    if (!loc && tail.length < Math.min(most, input.size)) {
      tail = await input.tail(most);
      loc = locateVmdescInTail(tail, input.size);
    } else if (!loc) loc = locateVmdescInTail(tail, input.size);
    if (loc) {
      const start = loc.jsonOffset - (input.size - tail.length);
      found = { loc, desc: parseTrailer(tail.subarray(start, start + loc.length), loc, pre) };
    }
  }
  const first = await walk(input, opts, found, pre);
  if (found?.desc || !first.walked?.desc) return finish(first);
  // No usable tail trailer, but walking the stream reached one: decode again with it.
  const again = await walk(input, opts, first.walked, [{
    code: "vmdesc-by-walk",
    offset: first.walked.loc.offset,
    message: "vmdesc trailer found by walking the stream to EOF (the tail search did not find it)",
  }]);
  return finish(again);
}

/** A located trailer and its description when it parsed. */
interface Trailer {
  loc: VmDescLocation;
  desc?: VmDesc;
}

function finish(r: WalkResult): InspectResult {
  delete r.walked;
  return r;
}

interface WalkResult extends InspectResult {
  /** The trailer the walk reached, when no trailer was given to it. */
  walked?: Trailer;
}

async function walk(
  input: InspectInput,
  opts: InspectOptions,
  given: Trailer | undefined,
  pre: InspectWarning[],
): Promise<WalkResult> {
  const { reader, close } = await input.open();
  const w = new Walker(reader, opts, given, [...pre], input.size);
  try {
    await w.run();
  } finally {
    close();
  }
  if (given && !w.result.vmdesc) {
    w.result.vmdesc = { ...given.loc, desc: given.desc, confirmedByWalk: false };
  }
  return w.result;
}

class Walker {
  readonly result: WalkResult;
  private readonly devices = new Map<string, DeviceDesc>();
  private ignoreShared = false;
  private lastId = -1;
  private pageWarned = false;
  private footersSeen = false;
  private readonly desc: VmDesc | undefined;

  constructor(
    private readonly r: StreamReader,
    private readonly opts: InspectOptions,
    private readonly given: Trailer | undefined,
    warnings: InspectWarning[],
    size: number | undefined,
  ) {
    const desc = this.desc = given?.desc;
    for (const d of desc?.devices ?? []) this.devices.set(deviceKey(d.name, d.instanceId), d);
    this.result = {
      size,
      items: [],
      sections: new Map(),
      pageSize: desc?.pageSize
        ? { value: desc.pageSize, source: "vmdesc" }
        : { value: 4096, source: "assumed" },
      end: { offset: 0, complete: false },
      warnings,
    };
  }

  private warn(code: string, offset: number, message: string, section?: string): void {
    this.result.warnings.push({ code, offset, message, ...(section ? { section } : {}) });
  }

  async run(): Promise<void> {
    const r = this.r;
    let itemStart = 0;
    let what = "the file header";
    try {
      const [magic, version] = await r.retrying(() => [r.be32(), r.be32()]);
      this.result.header = { magic, version };
      if (magic !== QEMU_VM_FILE_MAGIC) {
        throw new StreamFormatError(`Not a migration stream (magic 0x${magic.toString(16)})`, {
          offset: 0,
        });
      }
      if (version !== QEMU_VM_FILE_VERSION) {
        throw new StreamFormatError(`Unsupported migration stream version ${version}`, {
          offset: 4,
        });
      }
      for (;;) {
        itemStart = r.offset;
        if (await bufferAtLeast(r, 1)) {
          this.warn("truncated", itemStart, "Stream ends without an EOF marker");
          break;
        }
        const type = r.u8();
        what = `the item of type 0x${type.toString(16)}`;
        if (type === SectionType.EOF) {
          this.result.eof = { offset: itemStart };
          const complete = await this.trailer();
          this.result.end = { offset: r.offset, complete };
          return;
        } else if (type === SectionType.CONFIGURATION) {
          what = "the configuration record";
          await this.configuration(itemStart);
        } else if (type === SectionType.START || type === SectionType.FULL) {
          what = "a section header";
          await this.section(itemStart, type);
        } else if (type === SectionType.PART || type === SectionType.END) {
          what = "a section chunk";
          await this.section(itemStart, type);
        } else if (type === SectionType.COMMAND) {
          const [cmd, len] = await r.retrying(() => [r.be16(), r.be16()]);
          const payload = await r.retrying(() => r.bytes(len));
          // Postcopy's commands decoded; PACKAGED's inner stream follows inline and is read on.
          const detail = describeCommand(cmd, payload, itemStart);
          this.result.items.push({ type: "command", offset: itemStart, cmd, length: len, detail });
        } else {
          throw new StreamFormatError(`Unknown savevm section type ${type}`, { offset: itemStart });
        }
      }
    } catch (e) {
      if (e instanceof StreamTruncatedError) {
        this.warn(
          "truncated",
          e.offset ?? itemStart,
          `Stream truncated inside ${what} starting at byte ${itemStart}: ${e.reason}`,
        );
      } else if (e instanceof MigrationError) {
        this.warn("undecodable", e.offset ?? itemStart, `${e.reason}; decoding stopped here`);
      } else throw e;
    }
    this.result.end = { offset: r.offset, complete: false };
  }

  private async configuration(at: number): Promise<void> {
    const conf = await this.r.retrying(() => decodeConfiguration(this.r, this.desc?.configuration));
    this.result.configuration = { offset: at, size: this.r.offset - at, ...conf.value };
    for (const [code, off, msg] of conf.warnings) this.warn(code, off, msg);
    if (conf.value.pageBits !== undefined && this.result.pageSize.source !== "vmdesc") {
      this.result.pageSize = { value: 2 ** conf.value.pageBits, source: "configuration" };
    }
    this.ignoreShared = conf.value.capabilities?.includes("x-ignore-shared") ?? false;
    if (conf.stop) throw new StreamFormatError(conf.stop, { offset: this.r.offset });
  }

  private async section(at: number, type: number): Promise<void> {
    const r = this.r;
    const full = type === SectionType.START || type === SectionType.FULL;
    const kind = (["start", "part", "end", "full"] as const)[type - 1];
    let state: SectionState | undefined;
    let id: number;
    if (full) {
      const h = await r.retrying(() => ({
        id: r.be32(),
        idstr: r.str8(),
        inst: r.be32(),
        ver: r.be32(),
      }));
      id = h.id;
      const decoder: PayloadKind = h.idstr === "ram" && h.inst === 0
        ? "ram"
        : h.idstr === "spapr/htab" && h.inst === 0
        ? "htab"
        : this.devices.has(deviceKey(h.idstr, h.inst))
        ? "vmsd"
        : "opaque";
      state = { sectionId: id, idstr: h.idstr, instanceId: h.inst, version: h.ver, decoder };
      const old = this.result.sections.get(id);
      if (old) Object.assign(old, state);
      else this.result.sections.set(id, state);
      state = this.result.sections.get(id)!;
    } else {
      id = await r.retrying(() => r.be32());
      state = this.result.sections.get(id);
    }
    this.lastId = id;
    const label = state ? `${state.idstr} (${id})` : `section id ${id}`;
    const chunk: SectionChunk = {
      type: kind,
      offset: at,
      size: 0,
      sectionId: id,
      idstr: state?.idstr ?? "?",
      instanceId: state?.instanceId ?? -1,
      version: state?.version ?? -1,
      payloadOffset: r.offset,
      payloadSize: 0,
      decoder: state?.decoder ?? "opaque",
      footer: null,
    };
    this.result.items.push(chunk);
    const warn: WarnFn = (c, o, m) => this.warn(c, o, m, label);
    if (!state) {
      warn(
        "unknown-section-id",
        at,
        `${kind.toUpperCase()} chunk for section id ${id}, which no START announced`,
      );
    }
    try {
      await this.payload(chunk, state, label, warn);
      chunk.payloadSize = r.offset - chunk.payloadOffset;
      await this.footer(chunk, label);
    } catch (e) {
      chunk.incomplete = true;
      chunk.payloadSize = r.offset - chunk.payloadOffset;
      throw e;
    } finally {
      chunk.size = r.offset - at;
    }
  }

  private async payload(
    chunk: SectionChunk,
    state: SectionState | undefined,
    label: string,
    warn: WarnFn,
  ) {
    const r = this.r;
    if (state?.decoder === "ram") {
      if (state.version !== 4) {
        warn("ram-version", chunk.offset, `Unknown RAM version ${state.version}`);
      }
      if (this.result.pageSize.source === "assumed" && !this.pageWarned) {
        this.pageWarned = true;
        warn(
          "page-size-assumed",
          chunk.offset,
          "No vmdesc page_size: assuming 4096-byte target pages",
        );
      }
      try {
        chunk.ram = await decodeRamChunk(r, state, {
          pageSize: this.result.pageSize.value,
          ignoreShared: this.ignoreShared,
          dumpMemory: this.opts.dumpMemory ?? false,
          sink: this.opts.sink,
          warn,
        });
        return;
      } catch (e) {
        if (!(e instanceof MigrationError) || e instanceof StreamTruncatedError) throw e;
        warn("ram-undecodable", e.offset ?? r.offset, `${e.reason}; rest of the chunk skipped`);
        chunk.incomplete = true;
      }
    } else if (state?.decoder === "htab") {
      await decodeHtabChunk(r);
      return;
    } else if (state?.decoder === "vmsd") {
      const dev = this.devices.get(deviceKey(state.idstr, state.instanceId))!;
      const res = await this.vmsdPayload(dev, label);
      if (res.ok) {
        chunk.vmsd = state.vmsd = res.value;
        for (const [c, o, m] of res.warnings) warn(c, o, m);
        if (await bufferAtLeast(r, 1)) return;
        if (r.peekU8() === SectionType.FOOTER || !this.footersSeen) return;
        warn(
          "vmsd-mismatch",
          r.offset,
          "Payload decoded per the vmdesc is not followed by the footer",
        );
        chunk.incomplete = true;
      } else {
        warn(
          "vmsd-mismatch",
          res.error.offset ?? r.offset,
          `${res.error.message}; payload skipped`,
        );
        chunk.incomplete = true;
      }
    } else if (state) {
      warn(
        "no-schema",
        chunk.payloadOffset,
        `No description for "${state.idstr}" instance ${state.instanceId}; payload skipped by scanning for its footer (heuristic)`,
      );
    }
    const ok = await scanToFooter(r, chunk.sectionId, new Set(this.result.sections.keys()));
    if (!ok) {
      warn(
        "no-footer-found",
        chunk.payloadOffset,
        "No plausible footer found before the end of the stream",
      );
    }
  }

  private async vmsdPayload(dev: DeviceDesc, label: string) {
    const r = this.r;
    const base = r.offset;
    return await r.retrying(() => {
      const view = r.peekBytes(0, r.buffered);
      const sub = StreamReader.fromBytes(view);
      const warnings: [string, number, string][] = [];
      try {
        const value = decodeVmsd(sub, dev, base, label, (c, o, m) => warnings.push([c, o, m]));
        r.skip(sub.offset);
        return { ok: true as const, value, warnings };
      } catch (e) {
        if (e instanceof StreamTruncatedError) {
          r.peekBytes(0, view.length + Math.max(e.needed, 1)); // asks for more unless at EOF
          throw new StreamTruncatedError(e.needed, 0, {
            offset: base + view.length,
            section: label,
          });
        }
        if (e instanceof MigrationError) return { ok: false as const, error: e };
        throw e;
      }
    });
  }

  private async footer(chunk: SectionChunk, label: string): Promise<void> {
    const r = this.r;
    if (await bufferAtLeast(r, 1) || r.peekU8() !== SectionType.FOOTER) {
      this.warn("missing-footer", r.offset, `Missing section footer for ${label}`, label);
      return;
    }
    const at = r.offset;
    const id = await r.retrying(() => (r.u8(), r.be32()));
    const heuristic = chunk.decoder === "opaque" || chunk.incomplete === true;
    chunk.footer = { offset: at, sectionId: id, heuristic };
    this.footersSeen = true;
    if (id !== this.lastId) {
      this.warn(
        "footer-mismatch",
        at,
        `Mismatched section id in footer for ${label} - read 0x${id.toString(16)} expected 0x${
          this.lastId.toString(16)
        }`,
        label,
      );
    }
  }

  /** Read what follows EOF; false when the stream turns out to be truncated. */
  private async trailer(): Promise<boolean> {
    const r = this.r;
    if (await bufferAtLeast(r, 1)) {
      this.warn(
        "no-vmdesc",
        r.offset,
        "No vmdesc trailer after EOF (suppress-vmdesc, postcopy or Xen)",
      );
      return true;
    }
    const at = r.offset;
    const marker = r.u8();
    if (marker !== SectionType.VMDESCRIPTION) {
      this.warn("no-vmdesc", at, `Expected vmdescription section, but got ${marker}`);
      await this.trailing();
      return true;
    }
    const declared = await r.retrying(() => r.be32());
    await bufferAtLeast(r, declared);
    const length = Math.min(declared, r.buffered);
    const bytes = r.bytes(length);
    const loc: VmDescLocation = {
      offset: at,
      jsonOffset: at + 5,
      declaredLength: declared,
      length,
      method: "walk",
    };
    const given = this.given;
    if (given && given.loc.offset === at) {
      this.result.vmdesc = { ...given.loc, desc: given.desc, confirmedByWalk: true };
    } else if (given) {
      this.warn(
        "vmdesc-location",
        at,
        `The walk reached a vmdesc marker at byte ${at}, but the tail search found one at byte ${given.loc.offset}`,
      );
      this.result.vmdesc = { ...given.loc, desc: given.desc, confirmedByWalk: false };
    } else {
      const w: InspectWarning[] = [];
      const desc = parseTrailer(bytes, loc, w);
      this.result.walked = { loc, desc };
      this.result.warnings.push(...w);
      this.result.vmdesc = { ...loc, desc, confirmedByWalk: true };
    }
    await this.trailing();
    if (length < declared) {
      this.warn(
        "truncated",
        at + 5 + length,
        `Stream ends inside the vmdesc trailer starting at byte ${at}`,
      );
      return false;
    }
    return true;
  }

  private async trailing(): Promise<void> {
    const r = this.r;
    const at = r.offset;
    let n = 0;
    while (!(await bufferAtLeast(r, 1))) {
      n += r.buffered;
      r.skip(r.buffered);
    }
    if (n > 0) this.warn("trailing-bytes", at, `${n} unexpected bytes after the end of the stream`);
  }
}
