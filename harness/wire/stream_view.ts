/**
 * What the fault engine knows about the stream it forwards: how far it may forward, where named
 * positions are, and how to name an offset. A recorded stream is known whole before the first
 * byte goes out ({@link recordedView}); a live one is learnt while it passes
 * ({@link liveView}: section headers at once, fields once the vmdesc trailer has arrived).
 * @module
 */
import type { LayoutChunk, StreamLayout } from "../../migration/inspect/layout.ts";
import type { FaultEvent } from "./fault_engine.ts";
import { describeOffset, nameInLayout, type OffsetName } from "./offset_names.ts";
import {
  fieldSection,
  type Position,
  type ResolvedPosition,
  resolvePosition,
} from "./positions.ts";
import { SectionTracker } from "./section_tracker.ts";

/** The engine's window on the stream. */
export interface StreamView {
  /** Source bytes before this offset are understood and may be forwarded. */
  limit(): number;
  /** The next source bytes arrived; resolves once they are understood. */
  feed(bytes: Uint8Array): Promise<void>;
  /** The source ended; resolves once what is left to learn is (fields only when `fields`). */
  end(fields: boolean): Promise<void>;
  /** True once nothing more will be learnt (unresolved positions never will be). */
  readonly final: boolean;
  /** Where `p` is: undefined while unknown; a FaultSpecError when it can never be. */
  resolve(p: Position): ResolvedPosition | undefined;
  /** The complete chunk `p` starts in, once its end is known. */
  chunkAt(p: Position): LayoutChunk | undefined;
  /** Where bytes must wait for the full layout before field `path` can be found (live only). */
  holdFor(path: string): number | undefined;
  /** Where `offset` is. */
  name(offset: number): OffsetName;
}

/** A recorded stream: everything is known up front. */
export function recordedView(layout: StreamLayout): StreamView {
  return {
    limit: () => Infinity,
    feed: () => Promise.resolve(),
    end: () => Promise.resolve(),
    final: true,
    resolve: (p) => resolvePosition(p, layout, true),
    chunkAt: (p) => resolvePosition(p, layout, true)?.chunk,
    holdFor: () => undefined,
    name: (offset) => nameInLayout(layout, offset),
  };
}

/** A live stream: a {@link SectionTracker} learns it; the full layout comes with its end. */
export class LiveView implements StreamView {
  /** The tracker (its recorded bytes, chunks and EOF). */
  readonly tracker: SectionTracker;
  private layout: StreamLayout | undefined;
  private ended = false;

  constructor(recordLimit?: number) {
    this.tracker = new SectionTracker(recordLimit);
  }

  /** True once nothing more will be learnt. */
  get final(): boolean {
    return this.ended;
  }

  /** The complete layout, when the stream ended complete with its vmdesc. */
  get fullLayout(): StreamLayout | undefined {
    return this.layout;
  }

  limit(): number {
    return this.tracker.parsed;
  }

  async feed(bytes: Uint8Array): Promise<void> {
    this.tracker.push(bytes);
    await this.tracker.settled();
  }

  async end(fields: boolean): Promise<void> {
    this.tracker.end();
    await this.tracker.finished();
    if (fields) await this.learnLayout();
    this.ended = true;
  }

  /**
   * Work out the complete layout (fields, RAM records) from the recorded stream, when it ended
   * complete with its vmdesc; from then on offsets are named with it. Costs a decode of the
   * whole stream, so a proxy does it after the destination has its last byte.
   */
  async learnLayout(): Promise<void> {
    this.layout ??= await this.tracker.fullLayout();
  }

  resolve(p: Position): ResolvedPosition | undefined {
    if (this.layout) return resolvePosition(p, this.layout, this.ended);
    if (p.kind === "field") {
      if (this.ended) return resolvePosition(p, this.tracker.partialLayout(), true);
      return undefined;
    }
    return resolvePosition(p, this.tracker.partialLayout(), this.ended);
  }

  chunkAt(p: Position): LayoutChunk | undefined {
    const chunk = this.resolve(p)?.chunk;
    if (!chunk) return undefined;
    const tracked = this.tracker.chunks[chunk.index];
    return this.layout || tracked?.complete ? chunk : undefined;
  }

  holdFor(path: string): number | undefined {
    if (this.layout || this.ended) return undefined;
    const label = fieldSection(this.tracker.partialLayout(), path);
    return label === undefined
      ? undefined
      : this.tracker.chunks.find((c) => c.section === label)?.offset;
  }

  name(offset: number): OffsetName {
    return this.layout ? nameInLayout(this.layout, offset) : this.tracker.name(offset);
  }
}

/** A live view, for a proxy. */
export function liveView(recordLimit?: number): LiveView {
  return new LiveView(recordLimit);
}

/** Name `events` again with what `view` knows now (the complete layout, once learnt). */
export function renameEvents(events: FaultEvent[], view: StreamView): void {
  for (const e of events) e.where = view.name(e.sourceOffset);
}

/** `describeOffset` of where `offset` is in `view`. */
export function describeIn(view: StreamView, offset: number): string {
  return describeOffset(view.name(offset));
}
