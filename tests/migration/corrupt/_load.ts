/** Shared by the corrupt tests: load a corrupted stream and prove a failed load changed nothing. */
import { ok } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";

/** Load `bytes` into a fresh machine: the error, or undefined; on error the RAM is untouched. */
export async function loadError(bytes: Uint8Array): Promise<unknown> {
  const d = new VirtMachine({ ramSize: 16 << 20 });
  const before = d.ram.u8.slice();
  try {
    await d.load(StreamReader.fromBytes(bytes));
    return undefined;
  } catch (e) {
    ok(d.ram.u8.every((v, i) => v === before[i]), "a failed load changes no RAM");
    return e;
  }
}
