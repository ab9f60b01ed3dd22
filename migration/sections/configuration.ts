/**
 * The configuration record QEMU sends right after the header (savevm.c `vmstate_configuration`):
 * the machine type name and optional subsections. It is loaded at version 0 because no version
 * travels with it.
 * @module
 */
import { clipStreamText, UnknownEntityError } from "../errors.ts";
import { decodeName } from "../stream/reader.ts";
import type { StateRecord } from "../vmstate/description.ts";
import { uint32, varray, vbuffer, vmsd } from "../vmstate/fields.ts";
import { VMS } from "../vmstate/flags.ts";
import { vmstateCapability } from "../vmstate/infos.ts";

/** The configuration record as a state record. */
export interface ConfigurationState extends StateRecord {
  len: number;
  name: Uint8Array;
  targetPageBits: number;
  capsCount: number;
  capabilities: string[];
  /** Local: whether to send target page bits (only when above the target's legacy minimum). */
  sendPageBits: boolean;
  /** `x-vendor-versions`: the source's vendor id (reverse DNS); empty when not sent. */
  vendor: string;
  /** `x-vendor-versions`: the source's savevm protocol minor version. */
  protocolMinor: number;
}

const encoder = new TextEncoder();

/** "configuration/target-page-bits": sent only when page bits exceed the legacy minimum. */
export const vmstateTargetPageBits = vmsd<ConfigurationState>({
  name: "configuration/target-page-bits",
  versionId: 1,
  needed: (s) => s.sendPageBits,
  fields: [uint32("target_page_bits", { key: "targetPageBits" })],
});

/**
 * Most capabilities a configuration record may list: QEMU 7.2 has under 30, so a larger count is
 * damage, refused before anything is allocated for it.
 */
export const MAX_RECORDED_CAPABILITIES = 256;

/** "configuration/capabilities": the validated capabilities that are on (names as str8). */
export const vmstateCapabilities = vmsd<ConfigurationState>({
  name: "configuration/capabilities",
  versionId: 1,
  needed: (s) => s.capabilities.length > 0,
  preSave: (s) => {
    s.capsCount = s.capabilities.length;
  },
  fields: [
    uint32("caps_count", { key: "capsCount" }),
    varray("capabilities", vmstateCapability, "capsCount", {
      alloc: true,
      max: MAX_RECORDED_CAPABILITIES,
    }),
  ],
});

/** "configuration/vendor" (`x-vendor-versions`): the source's vendor id and protocol minor. */
export const vmstateVendor = vmsd<ConfigurationState>({
  name: "configuration/vendor",
  versionId: 1,
  needed: (s) => s.vendor !== "",
  fields: [
    { name: "vendor", info: vmstateCapability, flags: VMS.SINGLE },
    uint32("protocol_minor", { key: "protocolMinor" }),
  ],
});

/** QEMU's `configuration` description (version 1, loaded at 0). */
export const vmstateConfiguration = vmsd<ConfigurationState>({
  name: "configuration",
  versionId: 1,
  minimumVersionId: 0,
  preSave: (s) => {
    s.len = s.name.length;
  },
  fields: [uint32("len"), vbuffer("name", "len", { alloc: true })],
  subsections: [vmstateTargetPageBits, vmstateCapabilities, vmstateVendor],
});

/** A configuration record for a machine name, with capabilities that are on. */
export function makeConfiguration(
  machine: string,
  capabilities: string[] = [],
  vendor?: { vendor: string; protocolMinor: number },
): ConfigurationState {
  const name = encoder.encode(machine);
  return {
    len: name.length,
    name,
    targetPageBits: 12,
    capsCount: 0,
    capabilities,
    sendPageBits: false,
    vendor: vendor?.vendor ?? "",
    protocolMinor: vendor?.protocolMinor ?? 0,
  };
}

/** The machine name carried by a configuration record. */
export function machineName(c: ConfigurationState): string {
  return decodeName(c.name);
}

/** QEMU's check: the local name must start with the received one (strncmp over its length). */
export function checkMachineName(
  received: ConfigurationState,
  local: string,
  offset: number,
): void {
  const got = machineName(received);
  if (!local.startsWith(got) || got.length === 0) {
    throw new UnknownEntityError(
      `Machine type received is '${clipStreamText(got)}' and local is '${local}'`,
      {
        offset,
        section: "configuration",
      },
    );
  }
}
