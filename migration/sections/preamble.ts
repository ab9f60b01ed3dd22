/**
 * The part of every stream before its first section: magic, version and the configuration
 * record. Read on its own by tools that must know what a stream is (machine type, RAM layout)
 * before they build a machine to load it into.
 * @module
 */
import type { StreamReader } from "../stream/reader.ts";
import { loadState } from "../vmstate/load.ts";
import {
  type ConfigurationState,
  machineName,
  makeConfiguration,
  vmstateConfiguration,
} from "./configuration.ts";
import { QEMU_VM_FILE_VERSION, SectionType } from "./constants.ts";
import { readHeader } from "./loadvm.ts";

/** What a stream says about itself before its first section. */
export interface StreamPreamble {
  /** Stream format version (always 3: the only one accepted). */
  version: number;
  /** The configuration record, when the stream has one. */
  configuration?: ConfigurationState;
  /** Its machine type name, when there is one. */
  machine?: string;
}

/** Read magic, version and the optional configuration record (synchronous; use inside retrying). */
export function readPreamble(r: StreamReader): StreamPreamble {
  readHeader(r);
  const version = QEMU_VM_FILE_VERSION;
  if (r.peekU8(0) !== SectionType.CONFIGURATION) return { version };
  r.skip(1);
  const configuration = makeConfiguration("");
  loadState(r, vmstateConfiguration, configuration, 0);
  return { version, configuration, machine: machineName(configuration) };
}
