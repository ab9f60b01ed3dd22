/**
 * Schema-less inspection of QEMU migration streams: the public entry points the CLI's
 * `inspect` command wires up (tree, analyze, desc, extract, dump-memory).
 * @module
 */
import { analyzeDesc, analyzeState, type PlainJson } from "./analyze.ts";
import { inspect, type InspectOptions } from "./decoder.ts";
import { fileInput, type InspectInput } from "./input.ts";
import type { InspectResult } from "./model.ts";

export { analyzeDesc, analyzeState, type PlainJson, pythonJson, structValue } from "./analyze.ts";
export { inspect, type InspectOptions } from "./decoder.ts";
export { blockPath, extract, type ExtractReport } from "./extract.ts";
export { bytesInput, fileInput, type InspectInput } from "./input.ts";
export { JsonObject, type JsonValue, parseJsonPairs, toPython } from "./json_pairs.ts";
export type * from "./model.ts";
export type { RamSink } from "./ram.ts";
export { renderTree, type TreeOptions } from "./tree.ts";
export {
  type DeviceDesc,
  type FieldDesc,
  locateVmdescInTail,
  parseVmdesc,
  type VmDesc,
  type VmDescLocation,
  type VmsdDesc,
} from "./vmdesc.ts";

/** Inspect a file by path (streaming; the usual entry point). */
export async function inspectFile(path: string, opts: InspectOptions = {}): Promise<InspectResult> {
  return await inspect(await fileInput(path), opts);
}

/** The `-m` output analyze-migration.py means to give: `-d state` plus RAM contents. */
export async function dumpMemory(
  input: InspectInput,
): Promise<{ state: Record<string, PlainJson>; result: InspectResult }> {
  const result = await inspect(input, { dumpMemory: true });
  return { state: analyzeState(result), result };
}

/** The `-d desc` output, or undefined (with warnings in the result) when there is no vmdesc. */
export async function describe(
  input: InspectInput,
): Promise<{ desc: PlainJson | undefined; result: InspectResult }> {
  const result = await inspect(input);
  return { desc: analyzeDesc(result), result };
}
