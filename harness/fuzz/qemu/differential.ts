/**
 * The differential oracle of `fuzz --target qemu --differential`: every case QEMU judged also
 * goes through snapshell's own models of the sections both loaders have (emu/devices/qemu: the
 * CFI flash banks, fw_cfg, the PCIe host, `globalstate`, `timer`), one section at a time, as QEMU
 * loads them: the body read through our VMState description, every byte consumed, the state
 * checked. A section QEMU loaded and we refuse, or one QEMU refused (its error names it) and we
 * load, is a disagreement: a finding of its own class. Whole streams go through both once the
 * `qemu-virt` machine profile lands; until then sections we do not model are not compared.
 * @module
 */
import {
  createFwCfgState,
  createGlobalState,
  createGpexState,
  createPflashState,
  createTimersState,
  GPEX_ROOT_IDSTR,
  validateFwCfg,
  validateGpexRoot,
  validatePflash,
  vmstateFwCfg,
  vmstateGlobalState,
  vmstateGpexRoot,
  vmstatePciBus,
  vmstatePciHost,
  vmstatePflash,
  vmstateTimers,
} from "../../../emu/devices/qemu/mod.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import type { StateRecord, VmStateDescription } from "../../../migration/vmstate/description.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import type { Oracle } from "./campaign.ts";
import type { QemuOutcome } from "./outcome.ts";

/** One section snapshell models the way QEMU 7.2 sends it. */
interface SectionModel {
  vmsd: VmStateDescription;
  create(): StateRecord;
  validate?(s: StateRecord): void;
}

const model = <T extends StateRecord>(
  vmsd: VmStateDescription<T>,
  create: () => T,
  validate?: (s: T) => void,
): SectionModel => ({
  vmsd: vmsd as unknown as VmStateDescription,
  create,
  ...(validate ? { validate: validate as (s: StateRecord) => void } : {}),
});

/** The sections compared, by idstr. */
export const SHARED_SECTIONS: ReadonlyMap<string, SectionModel> = new Map([
  ["pflash_cfi01", model(vmstatePflash, createPflashState, validatePflash)],
  ["fw_cfg", model(vmstateFwCfg, createFwCfgState, validateFwCfg)],
  ["globalstate", model(vmstateGlobalState, () => createGlobalState())],
  ["timer", model(vmstateTimers, () => createTimersState(0))],
  [
    GPEX_ROOT_IDSTR,
    model(vmstateGpexRoot, () => createGpexState().root, (s) => validateGpexRoot(s.parentObj)),
  ],
  ["PCIHost", model(vmstatePciHost, () => ({ configReg: 0 }))],
  ["PCIBUS", model(vmstatePciBus, () => createGpexState().bus)],
]);

/**
 * snapshell's verdict on each modelled section of `bytes`: idstr -> undefined (loads) or why it
 * refuses. Undefined when the stream's structure cannot be walked (nothing to compare).
 */
export async function sectionVerdicts(
  bytes: Uint8Array,
): Promise<Map<string, string | undefined> | undefined> {
  let layout;
  try {
    layout = await layoutOfBytes(bytes);
  } catch {
    return undefined;
  }
  const out = new Map<string, string | undefined>();
  for (const c of layout.chunks) {
    const m = SHARED_SECTIONS.get(c.idstr);
    if (!m || (c.kind !== "full" && c.kind !== "start")) continue;
    const body = bytes.subarray(c.payloadOffset, c.payloadOffset + c.payloadSize);
    let verdict: string | undefined;
    try {
      const r = StreamReader.fromBytes(body);
      const state = m.create();
      loadState(r, m.vmsd, state, c.version);
      if (r.offset !== body.length) {
        throw new Error(`${body.length - r.offset} bytes left before the footer`);
      }
      m.validate?.(state);
      footerCheck(bytes, c.footerOffset, c.sectionId);
    } catch (e) {
      verdict = `${(e as Error).name}: ${(e as Error).message.split("\n")[0].slice(0, 300)}`;
    }
    if (!out.has(c.idstr) || verdict) out.set(c.idstr, verdict);
  }
  return out;
}

/** A section's footer is part of its load (QEMU's check_section_footer): 0x7e and its id. */
function footerCheck(bytes: Uint8Array, at: number | undefined, sectionId: number): void {
  if (at === undefined) throw new Error("no section footer");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (at + 5 > bytes.length || bytes[at] !== 0x7e) throw new Error("missing section footer");
  const id = v.getUint32(at + 1);
  if (id !== sectionId) throw new Error(`footer names section ${id}, not ${sectionId}`);
}

/** The section QEMU's error text blames (`device 'X'`, `footer for X`, `Failed to load X:f`). */
export function blamedSection(text: string): string | undefined {
  const m = /device '([^']+)'/.exec(text) ?? /footer for (\S+)/.exec(text) ??
    /Failed to load ([^:\s]+)[:\s]/.exec(text);
  return m?.[1];
}

/** Compare QEMU's verdict with snapshell's on the sections both model. */
export const differentialOracle: Oracle = async (bytes, qemu) => {
  if (qemu.class !== "rejected" && qemu.class !== "accepted" && qemu.class !== "stopped") {
    return undefined; // a crash or a hang is a finding already
  }
  const ours = await sectionVerdicts(bytes);
  if (!ours) return undefined;
  const disagree = (detail: string, why: string): QemuOutcome => ({
    class: "disagree",
    phase: qemu.class === "rejected" ? "qemu-rejects" : "qemu-loads",
    detail,
    ours: why,
  });
  if (qemu.class === "rejected") {
    const blamed = blamedSection(qemu.detail ?? "");
    if (blamed && ours.has(blamed) && ours.get(blamed) === undefined) {
      return disagree(qemu.detail ?? "", `${blamed} loads`);
    }
    return undefined;
  }
  for (const [idstr, why] of ours) {
    if (why) return disagree(`QEMU loads ${idstr}`, `${idstr}: ${why}`);
  }
  return undefined;
};
