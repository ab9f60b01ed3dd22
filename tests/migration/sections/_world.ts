/**
 * A small machine for the section tests: a serial port with a FIFO and a subsection, two flash
 * instances, an optional device and an iterative `ram` handler whose chunks are staged until
 * commit, so transactional loading can be observed.
 * @module
 */
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import type { StateRecord } from "../../../migration/vmstate/description.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import * as I from "../../../migration/vmstate/infos.ts";

/** The serial port: lsr 0xff is rejected by post_load (a cross-field style check). */
export const serialVmsd = F.vmsd<StateRecord>({
  name: "serial",
  versionId: 2,
  minimumVersionId: 1,
  fields: [
    F.uint8("lsr"),
    F.uint16("divider", { version: 2 }),
    F.int32("fifoLen"),
    F.varray("fifo", I.vmstateUint8, "fifoLen", { countType: "int32" }),
  ],
  postLoad: (s) => s.lsr !== 0xff,
  subsections: [
    F.vmsd({
      name: "serial/timeout",
      needed: (s) => s.timeout !== -1n,
      fields: [F.timer("timeout")],
    }),
  ],
});

/** Two instances of this one are registered. */
export const flashVmsd = F.vmsd({
  name: "pflash",
  fields: [F.uint8("status"), F.uint64("counter")],
});

/** A device whose top-level needed() decides whether its section is sent at all. */
export const optionalVmsd = F.vmsd<StateRecord>({
  name: "optional",
  needed: (s) => s.on,
  fields: [F.bool("on"), F.uint8("v")],
});

/** RAM-like iterative state: each chunk is `u8 n, n bytes`. */
export interface RamState {
  live: number[][];
  staged: number[][];
  aborted: number;
}

/** Everything registered, with the live records. */
export interface World {
  reg: SectionRegistry;
  serial: StateRecord;
  flash0: StateRecord;
  flash1: StateRecord;
  optional: StateRecord;
  ram: RamState;
}

/** Build the machine; `variant` changes the values so two worlds differ. */
export function makeWorld(variant = 0): World {
  const serial: StateRecord = {
    lsr: 0x60 + variant,
    divider: 12 + variant,
    fifoLen: variant ? 0 : 2,
    fifo: variant ? [0, 0, 0, 0] : [0x41, 0x42, 0, 0],
    timeout: variant ? -1n : 1000n,
  };
  const flash0: StateRecord = { status: 0x80 + variant, counter: 5n + BigInt(variant) };
  const flash1: StateRecord = { status: 0x81 + variant, counter: 6n + BigInt(variant) };
  const optional: StateRecord = { on: false, v: 0 };
  const ram: RamState = { live: variant ? [] : [[1, 2, 3], [4]], staged: [], aborted: 0 };
  const reg = new SectionRegistry();
  reg.registerIterative("ram", 4, {
    saveSetup(w) {
      const first = ram.live[0] ?? [];
      w.u8(first.length);
      for (const x of first) w.u8(x);
    },
    saveComplete(w) {
      const rest = ram.live.slice(1).flat();
      w.u8(rest.length);
      for (const x of rest) w.u8(x);
    },
    async load(r) {
      const chunk = await r.retrying(() => {
        const n = r.u8();
        return [...r.bytes(n)];
      });
      if (chunk.length) ram.staged.push(chunk);
    },
    commit() {
      ram.live = ram.staged;
      ram.staged = [];
    },
    abort() {
      ram.staged = [];
      ram.aborted++;
    },
  });
  reg.registerDevice({ vmsd: serialVmsd, state: () => serial });
  reg.registerDevice({ vmsd: flashVmsd, state: () => flash0 });
  reg.registerDevice({ vmsd: flashVmsd, instanceId: 1, state: () => flash1 });
  reg.registerDevice({ vmsd: optionalVmsd, state: () => optional });
  return { reg, serial, flash0, flash1, optional, ram };
}

/** The live state of a world, for before/after comparisons. */
export function snapshot(w: World): unknown {
  return structuredClone({
    serial: w.serial,
    flash0: w.flash0,
    flash1: w.flash1,
    optional: w.optional,
    ram: w.ram.live,
  });
}
