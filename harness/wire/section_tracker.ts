/**
 * Learning a live stream's layout while it passes: the bytes a proxy receives are pushed in, and
 * a walker decodes section headers as they arrive (RAM records by their fixed format, other
 * payloads skipped to their footer as the inspector does without a vmdesc), so any offset seen
 * so far can be named by section and chunk, and positions such as `serial+3` resolve as soon as
 * serial's header has passed. `parsed` says how far the walk got: bytes before it are
 * understood, so a proxy that forwards only up to it never lets a named position slip by.
 * The bytes are also recorded (up to a limit): once the stream is complete with its vmdesc, the
 * full layout names fields too.
 * @module
 */
import { StreamTruncatedError } from "../../migration/errors.ts";
import { layoutOfBytes } from "../../migration/corrupt/mod.ts";
import { decodeConfiguration } from "../../migration/inspect/config.ts";
import type { LayoutChunk, StreamLayout } from "../../migration/inspect/layout.ts";
import { sectionLabel } from "../../migration/sections/label.ts";
import type { SectionState } from "../../migration/inspect/model.ts";
import {
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  SectionType,
} from "../../migration/sections/constants.ts";
import { decodeRamChunk } from "../../migration/inspect/ram.ts";
import { bufferAtLeast, scanToFooter } from "../../migration/inspect/scan.ts";
import { type ByteSource, StreamReader } from "../../migration/stream/reader.ts";
import { chunkAt, type OffsetName } from "./offset_names.ts";

/** Default bytes kept for the full layout (beyond it, offsets are named by section only). */
export const DEFAULT_RECORD_LIMIT = 256 << 20;

/** A chunk whose header was seen; `size` grows to its final value at its footer. */
export interface TrackedChunk extends LayoutChunk {
  /** True once its footer passed. */
  complete: boolean;
}

type Item =
  | { type: "eof" }
  | { type: "configuration"; pageBits?: number; capabilities?: string[] }
  | { type: "command"; size: number }
  | {
    type: "section";
    kind: TrackedChunk["kind"];
    id: number;
    idstr?: string;
    inst?: number;
    ver?: number;
  }
  | { type: "unknown"; byte: number };

const KINDS = ["start", "part", "end", "full"] as const;

/** Decode one item's leading bytes (type byte and header) in one restartable step. */
function readItem(r: StreamReader): Item {
  const type = r.u8();
  switch (type) {
    case SectionType.EOF:
      return { type: "eof" };
    case SectionType.CONFIGURATION: {
      const c = decodeConfiguration(r);
      return { type: "configuration", ...c.value };
    }
    case SectionType.COMMAND: {
      r.be16();
      const len = r.be16();
      r.skip(len);
      return { type: "command", size: 5 + len };
    }
    case SectionType.START:
    case SectionType.FULL:
      return {
        type: "section",
        kind: KINDS[type - 1],
        id: r.be32(),
        idstr: r.str8(),
        inst: r.be32(),
        ver: r.be32(),
      };
    case SectionType.PART:
    case SectionType.END:
      return { type: "section", kind: KINDS[type - 1], id: r.be32() };
    default:
      return { type: "unknown", byte: type };
  }
}

/** Follows a stream pushed in pieces; see the module documentation. */
export class SectionTracker {
  /** Chunks whose headers were seen, in stream order. */
  readonly chunks: TrackedChunk[] = [];
  /** Offset of the EOF marker, once seen. */
  eofOffset?: number;
  /** The vmdesc trailer, once its header was seen (`end` once all of it was). */
  vmdesc?: { offset: number; length: number; end?: number };
  /** Why the walk stopped early (undecodable bytes), if it did. */
  stopped?: string;
  /** True when the walk is over (end of stream, or it could not go on). */
  done = false;

  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private idle: (() => void)[] = [];
  private starvedAt = 0;
  private received = 0;
  private recorded: Uint8Array[] | null = [];
  private readonly reader: StreamReader;
  private readonly walking: Promise<void>;
  private readonly sections = new Map<number, SectionState>();
  private readonly counts = new Map<string, number>();
  private pageSize = 4096;
  private ignoreShared = false;
  private configuration?: { offset: number; size: number };

  constructor(private readonly recordLimit = DEFAULT_RECORD_LIMIT) {
    const source: ByteSource = { read: (into) => this.pull(into) };
    this.reader = StreamReader.fromSource(source, 256 * 1024);
    this.walking = this.walk();
  }

  /** Bytes pushed so far. */
  get size(): number {
    return this.received;
  }

  /** Bytes before this offset are parsed (Infinity once the walk is over). */
  get parsed(): number {
    return this.done ? Infinity : this.starvedAt;
  }

  /** Add the next bytes of the stream. */
  push(bytes: Uint8Array): void {
    if (!bytes.length) return;
    const copy = bytes.slice();
    this.queue.push(copy);
    this.received += copy.length;
    if (this.recorded) {
      if (this.received <= this.recordLimit) this.recorded.push(copy);
      else this.recorded = null;
    }
    this.wake?.();
  }

  /** The stream ended. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Resolves once everything pushed so far is parsed as far as it can be. */
  settled(): Promise<void> {
    if (this.done || (this.wake && !this.queue.length)) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Resolves when the walk is over (after {@link end}). */
  finished(): Promise<void> {
    return this.walking;
  }

  /** The whole stream when it was kept (at most the record limit). */
  recordedBytes(): Uint8Array | undefined {
    if (!this.recorded) return undefined;
    const out = new Uint8Array(this.received);
    let at = 0;
    for (const c of this.recorded) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** The full layout (fields too), once the stream ended complete with its vmdesc. */
  async fullLayout(): Promise<StreamLayout | undefined> {
    if (!this.done || this.vmdesc?.end === undefined) return undefined;
    const bytes = this.recordedBytes();
    return bytes ? await layoutOfBytes(bytes, "<live stream>") : undefined;
  }

  /** A layout of what was seen so far: chunks only (enough to resolve section names). */
  partialLayout(): StreamLayout {
    return {
      name: "<live stream>",
      size: this.received,
      pageSize: this.pageSize,
      chunks: this.chunks,
      fields: [],
      subsections: [],
      ranges: [],
      ...(this.configuration ? { configuration: this.configuration } : {}),
      ...(this.eofOffset !== undefined ? { eofOffset: this.eofOffset } : {}),
      ...(this.vmdesc
        ? {
          vmdesc: {
            offset: this.vmdesc.offset,
            jsonOffset: this.vmdesc.offset + 5,
            declaredLength: this.vmdesc.length,
            length: this.vmdesc.length,
          },
        }
        : {}),
      result: {
        items: [],
        sections: new Map(),
        pageSize: { value: this.pageSize, source: "assumed" },
        end: { offset: this.starvedAt, complete: false },
        warnings: [],
      },
    };
  }

  /** Name `offset` by what was seen so far (section and chunk part; no fields). */
  name(offset: number): OffsetName {
    if (offset < 8) return { offset, what: "file header" };
    const conf = this.configuration;
    if (conf && offset >= conf.offset && offset < conf.offset + conf.size) {
      return { offset, what: "configuration" };
    }
    const v = this.vmdesc;
    if (v && offset >= v.offset) {
      return offset < v.offset + 5 + v.length
        ? { offset, what: "vmdesc trailer" }
        : { offset, what: "after the vmdesc trailer" };
    }
    if (this.eofOffset !== undefined && offset >= this.eofOffset) {
      return { offset, what: offset === this.eofOffset ? "EOF marker" : "after the EOF marker" };
    }
    const last = this.chunks[this.chunks.length - 1];
    const c = chunkAt(this.chunks, offset) ??
      (last && !last.complete && offset >= last.offset ? last : undefined);
    if (!c) return { offset, what: "between sections" };
    const what = offset < c.payloadOffset
      ? "section header"
      : c.footerOffset !== undefined && offset >= c.footerOffset
      ? "section footer"
      : c.idstr === "ram"
      ? "RAM records"
      : "payload";
    return { offset, section: c.section, chunk: c.selector, what };
  }

  private async pull(into: Uint8Array): Promise<number | null> {
    while (!this.queue.length) {
      if (this.ended) return null;
      this.starvedAt = this.reader.offset;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        for (const f of this.idle.splice(0)) f();
      });
      this.wake = undefined;
    }
    const head = this.queue[0];
    const n = Math.min(into.length, head.length);
    into.set(head.subarray(0, n));
    if (n === head.length) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    return n;
  }

  private async walk(): Promise<void> {
    const r = this.reader;
    try {
      const [magic, version] = await r.retrying(() => [r.be32(), r.be32()]);
      if (magic !== QEMU_VM_FILE_MAGIC || version !== QEMU_VM_FILE_VERSION) {
        this.stopped = `not a version 3 migration stream (magic 0x${magic.toString(16)})`;
        return;
      }
      for (;;) {
        const at = r.offset;
        if (await bufferAtLeast(r, 1)) return;
        const item = await r.retrying(() => readItem(r));
        if (item.type === "eof") {
          this.eofOffset = at;
          await this.trailer();
          return;
        }
        if (item.type === "configuration") {
          this.configuration = { offset: at, size: r.offset - at };
          if (item.pageBits !== undefined) this.pageSize = 2 ** item.pageBits;
          this.ignoreShared = item.capabilities?.includes("x-ignore-shared") ?? false;
        } else if (item.type === "section") {
          if (!(await this.section(at, item))) return;
        } else if (item.type === "unknown") {
          this.stopped = `unknown item type 0x${item.byte.toString(16)} at byte ${at}`;
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof StreamTruncatedError)) {
        this.stopped = (e as Error)?.message ?? String(e);
      }
    } finally {
      this.done = true;
      for (const f of this.idle.splice(0)) f();
    }
  }

  /** Follow one chunk to its footer; false when the walk cannot go on. */
  private async section(at: number, item: Extract<Item, { type: "section" }>): Promise<boolean> {
    const r = this.reader;
    let state = this.sections.get(item.id);
    if (item.idstr !== undefined) {
      state = {
        sectionId: item.id,
        idstr: item.idstr,
        instanceId: item.inst!,
        version: item.ver!,
        decoder: item.idstr === "ram" && item.inst === 0 ? "ram" : "opaque",
      };
      this.sections.set(item.id, state);
    }
    const section = state ? sectionLabel(state) : `id ${item.id}`;
    const key = `${section}@${item.kind}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    const chunk: TrackedChunk = {
      index: this.chunks.length,
      kind: item.kind,
      section,
      selector: n === 1 ? key : `${key}${n}`,
      idstr: state?.idstr ?? "?",
      instanceId: state?.instanceId ?? -1,
      sectionId: item.id,
      version: state?.version ?? -1,
      offset: at,
      size: r.offset - at,
      payloadOffset: r.offset,
      payloadSize: 0,
      complete: false,
    };
    if (item.idstr !== undefined) {
      chunk.nameOffset = at + 5;
      chunk.instanceOffset = at + 6 + new TextEncoder().encode(item.idstr).length;
      chunk.versionOffset = chunk.instanceOffset + 4;
    }
    this.chunks.push(chunk);
    let found = true;
    if (state?.decoder === "ram") {
      await decodeRamChunk(r, state, {
        pageSize: this.pageSize,
        ignoreShared: this.ignoreShared,
        dumpMemory: false,
        warn: () => {},
      });
    } else {
      found = await scanToFooter(r, item.id, new Set(this.sections.keys()), 1); // live: no waiting
    }
    chunk.payloadSize = r.offset - chunk.payloadOffset;
    chunk.size = r.offset - at;
    if (!found || await bufferAtLeast(r, 1)) return false;
    if (r.peekU8() !== SectionType.FOOTER) {
      this.stopped = `no footer after ${chunk.selector} at byte ${r.offset}`;
      return false;
    }
    chunk.footerOffset = r.offset;
    await r.retrying(() => (r.u8(), r.be32()));
    chunk.size = r.offset - at;
    chunk.complete = true;
    return true;
  }

  private async trailer(): Promise<void> {
    const r = this.reader;
    if (await bufferAtLeast(r, 1)) return;
    if (r.peekU8() !== SectionType.VMDESCRIPTION) return;
    const offset = r.offset;
    const length = await r.retrying(() => (r.u8(), r.be32()));
    this.vmdesc = { offset, length };
    for (let left = length; left > 0;) {
      if (await bufferAtLeast(r, 1)) return;
      const n = Math.min(left, r.buffered);
      r.skip(n);
      left -= n;
    }
    this.vmdesc.end = r.offset;
  }
}
