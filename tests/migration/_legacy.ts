/**
 * The streams the project wrote before the compiled engine (tests/fixtures/legacy/): the demo
 * machine at a small RAM size, saved plain and with each encoding-changing extension.
 * @module
 */
import { VirtMachine } from "../../emu/virt.ts";

/** One stored legacy stream and how it was made. */
export interface LegacyStream {
  /** File name under tests/fixtures/legacy/. */
  readonly file: string;
  /** Capabilities on when it was saved (and to save it again with). */
  readonly capabilities: string[];
  /** Demo-guest instructions run before saving. */
  readonly insns: number;
}

/** Every legacy stream kept as a fixture. */
export const LEGACY_STREAMS: readonly LegacyStream[] = [
  { file: "demo-plain.qevm", capabilities: [], insns: 300_000 },
  { file: "demo-early.qevm", capabilities: [], insns: 1_000 },
  { file: "demo-self-describing.qevm", capabilities: ["x-self-describing"], insns: 300_000 },
  {
    file: "demo-markers.qevm",
    capabilities: ["x-vmsd-markers", "x-ptr-markers", "x-strict-subsections"],
    insns: 300_000,
  },
  {
    file: "demo-vendor-tagged.qevm",
    capabilities: ["x-vendor-versions", "x-self-describing"],
    insns: 300_000,
  },
];

/** The machine the legacy streams come from and load into: 2 MiB RAM, a 4 KiB disk. */
export function legacyMachine(): VirtMachine {
  return new VirtMachine({ ramSize: 2 << 20, disk: new Uint8Array(4096) });
}
