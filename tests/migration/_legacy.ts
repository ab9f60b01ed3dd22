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

/** misa_ext of the RV32IMAU hart that wrote the legacy streams (A, I, M, U). */
const LEGACY_MISA_EXT = 0x101101;

const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

function indexOf(hay: Uint8Array, needle: number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * A legacy stream as snapshell writes it since supervisor mode: three `cpu` constants that the
 * legacy streams carried wrong are now QEMU 7.2's (env.priv_ver = PRIV_VERSION_1_12_0 = 2 instead
 * of 0x11200, env.misa_ext_mask = misa_ext instead of 0, env.features = MMU|PMP|DEBUG = 0x13
 * instead of 0); every other byte is the legacy stream's.
 */
export function withQemuCpuConstants(legacy: Uint8Array): Uint8Array {
  const out = legacy.slice();
  const put = (at: number, v: number) => out.set(be32(v), at);
  // QEMU encoding: priv_ver, vext_ver, misa_mxl, misa_ext, misa_mxl_max, misa_ext_mask, features.
  const at = indexOf(legacy, [...be32(0x11200), ...be32(0), ...be32(1)]);
  if (at >= 0) {
    if (indexOf(legacy, be32(LEGACY_MISA_EXT), at + 12) !== at + 12) throw new Error("misa_ext?");
    put(at, 2);
    put(at + 20, LEGACY_MISA_EXT);
    put(at + 24, 0x13);
    return out;
  }
  // Self-describing encoding: each value follows its field's name.
  const valueAfter = (name: string, old: number) => {
    const n = indexOf(legacy, [...new TextEncoder().encode(name)]);
    const v = indexOf(legacy, be32(old), n + name.length);
    if (n < 0 || v < 0 || v > n + name.length + 16) throw new Error(`no ${name} in the stream`);
    return v;
  };
  put(valueAfter("env.priv_ver", 0x11200), 2);
  put(valueAfter("env.misa_ext_mask", 0), LEGACY_MISA_EXT);
  put(valueAfter("env.features", 0), 0x13);
  return out;
}
