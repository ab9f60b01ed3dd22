/**
 * What the wire tools tell their user: the lines after a replay or a proxied migration, where
 * the fault hit (for the error a failed migration is reported with), and a JSON form.
 * @module
 */
import { TransportError } from "../../migration/errors.ts";
import { type EngineResult, type FaultEvent, formatEvent } from "./fault_engine.ts";
import { describeOffset } from "./offset_names.ts";
import { formatVerdict, type Verdict } from "./wire_io.ts";

/** The fault that decided the outcome: a cut or stall, else the first that fired. */
export function decisiveEvent(engine: EngineResult): FaultEvent | undefined {
  return engine.cut ?? engine.events.find((e) => e.action === "stall") ?? engine.events[0];
}

/** Every fault that fired (with its final name), then the {@link summaryLines}. */
export function reportLines(engine: EngineResult, verdict: Verdict, target: string): string[] {
  return [...engine.events.map(formatEvent), ...summaryLines(engine, verdict, target)];
}

/** Faults that never fired, a failure, and bytes and verdict (events are printed as they fire). */
export function summaryLines(engine: EngineResult, verdict: Verdict, target: string): string[] {
  const lines: string[] = [];
  for (const u of engine.unreached) lines.push(`${u.fault}: never fired: ${u.reason}`);
  if (engine.failure) {
    lines.push(
      `${engine.failure.side} failed at ${
        describeOffset(engine.failure.where)
      }: ${engine.failure.error.reason}`,
    );
  }
  lines.push(
    `sent ${engine.sent} bytes (the stream up to byte ${engine.handled}); ${
      formatVerdict(verdict, target)
    }`,
  );
  return lines;
}

/**
 * The typed error of a migration the destination did not load: a TransportError located where
 * the decisive fault hit (or where the connection failed), saying what the destination answered.
 */
export function notLoadedError(engine: EngineResult, verdict: Verdict, target: string) {
  const why = verdict.outcome === "rejected"
    ? `${target} rejected the stream`
    : `${target} did not load the stream (${formatVerdict(verdict, target)})`;
  const fault = decisiveEvent(engine);
  const at = fault?.where ?? engine.failure?.where;
  const how = fault ? ` after ${fault.fault} (${fault.where.what})` : "";
  return new TransportError(
    `${why}${how}`,
    at ? { offset: at.offset, ...(at.section ? { section: at.section } : {}) } : {},
  );
}

/** A plain object for `--json`. */
export function reportJson(
  engine: EngineResult,
  verdict: Verdict,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...extra,
    verdict: verdict.outcome,
    ...(verdict.outcome === "none" ? { verdictReason: verdict.reason } : {}),
    received: engine.received,
    handled: engine.handled,
    sent: engine.sent,
    sourceEnded: engine.sourceEnded,
    events: engine.events,
    unreached: engine.unreached,
    failure: engine.failure
      ? {
        side: engine.failure.side,
        error: engine.failure.error.toJSON(),
        where: engine.failure.where,
      }
      : null,
  };
}
