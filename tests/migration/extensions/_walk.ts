/**
 * Save/load helpers of the extension tests: one description through the engine walkers with
 * the extension switches given, and a tiny registry for whole-stream tests.
 * @module
 */
import { strictEqual } from "node:assert/strict";
import { QemuJsonWriter } from "../../../migration/json/qemu_json_writer.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { VmStateSaver } from "../../../migration/vmstate/save.ts";
import {
  type ExtensionLoadOptions as LoadOptions,
  type ExtensionSaveOptions as SaveWalkOptions,
  loadWalkOptions,
  saveWalkOptions,
} from "../../../migration/extensions/layers.ts";
import {
  type LoadReport,
  loadStream,
  type LoadStreamOptions,
} from "../../../migration/sections/loadvm.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import { type SaveOptions, saveStream } from "../../../migration/sections/savevm.ts";

/** Save through the QEMU-encoding walker with extension switches. */
export function saveWith(
  vmsd: VmStateDescription,
  state: StateRecord,
  opts: SaveWalkOptions = {},
): Uint8Array {
  const w = new StreamWriter();
  new VmStateSaver(w, saveWalkOptions(opts)).save(vmsd, state);
  return w.take();
}

/** Save with the vmdesc JSON members too. */
export function saveJsonWith(
  vmsd: VmStateDescription,
  state: StateRecord,
  opts: SaveWalkOptions = {},
): string {
  const w = new StreamWriter();
  const json = new QemuJsonWriter();
  json.startObject();
  new VmStateSaver(w, saveWalkOptions(opts)).save(vmsd, state, undefined, json);
  json.endObject();
  return json.toString();
}

/** Load all of `bytes` into `into` with extension switches; the reader must end exactly. */
export function loadWith(
  vmsd: VmStateDescription,
  bytes: Uint8Array,
  into: StateRecord,
  opts: LoadOptions = {},
  version = vmsd.versionId,
): StateRecord {
  const r = StreamReader.fromBytes(bytes);
  loadState(r, vmsd, into, version, loadWalkOptions(opts));
  strictEqual(r.offset, bytes.length, "the loader must consume exactly the saved bytes");
  return into;
}

/** A registry of devices, each with a live record the test can inspect. */
export function registryOf(
  ...devices: { vmsd: VmStateDescription; state: StateRecord }[]
): SectionRegistry {
  const reg = new SectionRegistry();
  for (const d of devices) {
    reg.registerDevice({
      vmsd: d.vmsd,
      state: () => d.state,
      commit: (s) => Object.assign(d.state, s),
    });
  }
  return reg;
}

/** A whole stream of `reg` saved with these options. */
export async function streamOf(
  reg: SectionRegistry,
  opts: Partial<SaveOptions> = {},
): Promise<Uint8Array> {
  const w = new StreamWriter();
  await saveStream(w, reg, { machine: "virt", ...opts });
  return w.take();
}

/** Load a whole stream into `reg`. */
export function loadStreamOf(
  bytes: Uint8Array,
  reg: SectionRegistry,
  opts: Partial<LoadStreamOptions> = {},
): Promise<LoadReport> {
  return loadStream(StreamReader.fromBytes(bytes), reg, { machine: "virt", ...opts });
}
