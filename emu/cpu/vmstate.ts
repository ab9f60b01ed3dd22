/**
 * The hart's migration state, described as QEMU 7.2's `cpu` (target/riscv/machine.c, version 5)
 * and `cpu_common` descriptions, field for field, so our vmdesc matches QEMU's. Our CpuState is
 * mapped onto QEMU's `env.*` record when saving and back when a load commits; QEMU fields for
 * features we do not model (F, H, PMU, AIA) travel as zeros and must load as zeros. State QEMU
 * keeps elsewhere (minstret/mcycle, which drive our virtual time) goes in a snapshell subsection.
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import type { StateRecord, VmStateField } from "../../migration/vmstate/description.ts";
import {
  array,
  bool,
  structArray,
  uint32,
  uint64,
  uint8,
  vmsd,
} from "../../migration/vmstate/fields.ts";
import { vmstateUint32, vmstateUint64, vmstateUint8 } from "../../migration/vmstate/infos.ts";
import { type CpuState, MISA_RV32IMASU, PRV_M, PRV_S, PRV_U } from "./state.ts";

const u32 = (name: string): VmStateField => uint32(`env.${name}`);

/** QEMU 7.2's `priv_ver` for privileged spec 1.12 (an enum: 1.10 = 0, 1.11 = 1, 1.12 = 2). */
const QEMU_PRIV_VERSION_1_12_0 = 2;
/** QEMU 7.2's `env.features`: RISCV_FEATURE_MMU (bit 0) | PMP (1) | DEBUG (4) = 0x13. */
const QEMU_FEATURES = 0x13;
const u64 = (name: string): VmStateField => uint64(`env.${name}`);

/** QEMU's `cpu/pmu` (one PMU counter). */
export const vmstateCpuPmu = vmsd({
  name: "cpu/pmu",
  versionId: 1,
  fields: [
    uint32("mhpmcounter_val"),
    uint32("mhpmcounterh_val"),
    uint32("mhpmcounter_prev"),
    uint32("mhpmcounterh_prev"),
    bool("started"),
  ],
});

/** QEMU's `cpu/pmp/entry`. */
export const vmstatePmpEntry = vmsd({
  name: "cpu/pmp/entry",
  versionId: 1,
  fields: [uint32("addr_reg"), uint8("cfg_reg")],
});

/** QEMU's `cpu/pmp` subsection (sent when the hart has PMP, as ours does). */
export const vmstateCpuPmp = vmsd({
  name: "cpu/pmp",
  versionId: 1,
  needed: () => true,
  fields: [structArray("env.pmp_state.pmp", vmstatePmpEntry, 16)],
});

/**
 * snapshell's counters subsection: minstret/mcycle drive virtual time, so they must travel.
 * Version 2 adds QEMU's `software_seip` (not migrated by QEMU; the SEIP software wrote).
 */
export const vmstateCpuCounters = vmsd({
  name: "cpu/snapshell-counters",
  versionId: 2,
  minimumVersionId: 1,
  needed: () => true,
  fields: [
    uint64("minstret"),
    uint64("mcycle"),
    uint32("waiting"),
    uint32("software_seip", { version: 2 }),
  ],
});

/** QEMU 7.2's `cpu` description for rv32. */
export const vmstateRiscvCpu = vmsd({
  name: "cpu",
  versionId: 5,
  minimumVersionId: 5,
  fields: [
    array("env.gpr", vmstateUint32, 32),
    array("env.fpr", vmstateUint64, 32),
    array("env.miprio", vmstateUint8, 64),
    array("env.siprio", vmstateUint8, 64),
    ...[
      "pc",
      "load_res",
      "load_val",
      "frm",
      "badaddr",
      "guest_phys_fault_addr",
      "priv_ver",
      "vext_ver",
      "misa_mxl",
      "misa_ext",
      "misa_mxl_max",
      "misa_ext_mask",
      "features",
      "priv",
      "virt",
    ].map(u32),
    u64("resetvec"),
    u32("mhartid"),
    ...["mstatus", "mip", "miclaim", "mie", "mideleg"].map(u64),
    ...[
      "satp",
      "stval",
      "medeleg",
      "stvec",
      "sepc",
      "scause",
      "mtvec",
      "mepc",
      "mcause",
      "mtval",
      "miselect",
      "siselect",
      "scounteren",
      "mcounteren",
      "mcountinhibit",
    ].map(u32),
    structArray("env.pmu_ctrs", vmstateCpuPmu, 32),
    array("env.mhpmevent_val", vmstateUint32, 32),
    array("env.mhpmeventh_val", vmstateUint32, 32),
    u32("sscratch"),
    u32("mscratch"),
    u64("mfromhost"),
    u64("mtohost"),
    u64("stimecmp"),
  ],
  subsections: [vmstateCpuPmp, vmstateCpuCounters],
  postLoad: (s: StateRecord) => validateCpuRecord(s),
});

/** QEMU's `cpu_common`: `halted` and `interrupt_request`. */
export const vmstateCpuCommon = vmsd({
  name: "cpu_common",
  versionId: 1,
  fields: [uint32("halted"), uint32("interrupt_request")],
});

const ZERO_ENV_U32 = [
  "load_val",
  "frm",
  "badaddr",
  "guest_phys_fault_addr",
  "vext_ver",
  "virt",
  "miselect",
  "siselect",
  "mcountinhibit",
];

/** Build QEMU's `cpu` record from our state (what is saved). */
export function cpuToRecord(s: CpuState, resetPc: number): StateRecord {
  const env: StateRecord = {
    gpr: Array.from(s.x, (v) => v >>> 0),
    fpr: Array.from({ length: 32 }, () => 0n),
    miprio: new Array(64).fill(0),
    siprio: new Array(64).fill(0),
    pc: s.pc >>> 0,
    load_res: s.resValid ? s.resAddr >>> 0 : 0xffffffff,
    priv_ver: QEMU_PRIV_VERSION_1_12_0,
    misa_mxl: 1,
    misa_ext: s.misa & 0x3ffffff,
    // As QEMU 7.2 fills them for this hart: the extension mask equals misa_ext, and the
    // feature bits name the MMU, PMP and debug triggers (QEMU drops paging without them).
    misa_ext_mask: s.misa & 0x3ffffff,
    features: QEMU_FEATURES,
    misa_mxl_max: 1,
    priv: s.priv,
    resetvec: BigInt(resetPc >>> 0),
    mhartid: s.mhartid,
    mstatus: BigInt(s.mstatus >>> 0),
    mip: BigInt(s.mip >>> 0),
    miclaim: 0n,
    mie: BigInt(s.mie >>> 0),
    mideleg: BigInt(s.mideleg >>> 0),
    satp: s.satp,
    medeleg: s.medeleg,
    mtvec: s.mtvec,
    mepc: s.mepc,
    mcause: s.mcause,
    mtval: s.mtval,
    mcounteren: s.mcounteren,
    // Supervisor mode (sstatus, sie and sip are views of mstatus, mie and mip).
    stvec: s.stvec,
    sscratch: s.sscratch,
    sepc: s.sepc,
    scause: s.scause,
    stval: s.stval,
    scounteren: s.scounteren,
    pmu_ctrs: Array.from({ length: 32 }, () => ({
      mhpmcounter_val: 0,
      mhpmcounterh_val: 0,
      mhpmcounter_prev: 0,
      mhpmcounterh_prev: 0,
      started: false,
    })),
    mhpmevent_val: new Array(32).fill(0),
    mhpmeventh_val: new Array(32).fill(0),
    mscratch: s.mscratch,
    mfromhost: 0n,
    mtohost: 0n,
    stimecmp: 0n,
    pmp_state: {
      pmp: Array.from({ length: 16 }, (_, i) => ({ addr_reg: s.pmpaddr[i], cfg_reg: s.pmpcfg[i] })),
    },
  };
  for (const k of ZERO_ENV_U32) env[k] ??= 0;
  return {
    env,
    minstret: BigInt(s.instretHi) << 32n | BigInt(s.instretLo),
    mcycle: BigInt(s.cycleHi) << 32n | BigInt(s.cycleLo),
    waiting: s.waiting,
    software_seip: s.softwareSeip,
  };
}

function fail(field: string, why: string): never {
  throw new StateValidationError(`cpu: env.${field} ${why}`);
}

/** Reject records our hart cannot represent (they would silently change behaviour). */
export function validateCpuRecord(rec: StateRecord): void {
  const env = rec.env;
  if (env.priv !== PRV_M && env.priv !== PRV_S && env.priv !== PRV_U) {
    fail("priv", `is ${env.priv}: only M (3), S (1) and U (0) exist`);
  }
  if (env.virt !== 0) fail("virt", "is set but the hypervisor extension is not modelled");
  if (env.pc % 2 !== 0) fail("pc", `0x${env.pc.toString(16)} is not 2-byte aligned`);
  if (env.misa_mxl !== 1) fail("misa_mxl", `is ${env.misa_mxl}, this hart is RV32`);
  if ((env.misa_ext | (MISA_RV32IMASU & 0x3ffffff)) !== (MISA_RV32IMASU & 0x3ffffff)) {
    fail("misa_ext", `0x${env.misa_ext.toString(16)} names extensions this hart lacks`);
  }
  if (env.mstatus > 0xffffffffn) fail("mstatus", "has bits above 31");
  if (((env.mstatus >> 11n) & 3n) === 2n) fail("mstatus", "has the reserved MPP value 2");
  for (const f of ["fpr"] as const) {
    if ((env[f] as bigint[]).some((v) => v !== 0n)) {
      fail(f, "holds values but F/D are not modelled");
    }
  }
  if (rec.waiting !== 0 && rec.waiting !== 1) fail("waiting", `is ${rec.waiting}`);
  if ((rec.software_seip ?? 0) > 1) fail("software_seip", `is ${rec.software_seip}`);
}

/** Install a loaded `cpu` record into our state (after the whole stream was accepted). */
export function cpuFromRecord(s: CpuState, rec: StateRecord): void {
  const env = rec.env;
  for (let i = 0; i < 32; i++) s.x[i] = env.gpr[i] | 0;
  s.x[0] = 0;
  s.pc = env.pc >>> 0;
  s.resValid = env.load_res === 0xffffffff ? 0 : 1;
  s.resAddr = s.resValid ? env.load_res >>> 0 : 0;
  s.priv = env.priv;
  s.misa = (MISA_RV32IMASU & ~0x3ffffff) | env.misa_ext;
  s.mhartid = env.mhartid >>> 0;
  s.mstatus = Number(env.mstatus) >>> 0;
  s.mip = Number(env.mip & 0xffffffffn) >>> 0;
  s.mie = Number(env.mie & 0xffffffffn) >>> 0;
  s.mideleg = Number(env.mideleg & 0xffffffffn) >>> 0;
  s.satp = env.satp >>> 0;
  s.medeleg = env.medeleg >>> 0;
  s.mtvec = env.mtvec >>> 0;
  s.mepc = env.mepc >>> 0;
  s.mcause = env.mcause >>> 0;
  s.mtval = env.mtval >>> 0;
  s.mcounteren = env.mcounteren >>> 0;
  s.mscratch = env.mscratch >>> 0;
  // Supervisor mode.
  s.stvec = env.stvec >>> 0;
  s.sscratch = env.sscratch >>> 0;
  s.sepc = env.sepc >>> 0;
  s.scause = env.scause >>> 0;
  s.stval = env.stval >>> 0;
  s.scounteren = env.scounteren >>> 0;
  s.softwareSeip = rec.software_seip ?? 0;
  for (let i = 0; i < 16; i++) {
    s.pmpaddr[i] = env.pmp_state.pmp[i].addr_reg >>> 0;
    s.pmpcfg[i] = env.pmp_state.pmp[i].cfg_reg & 0xff;
  }
  const instret = BigInt.asUintN(64, rec.minstret);
  const cycle = BigInt.asUintN(64, rec.mcycle);
  s.instretLo = Number(instret & 0xffffffffn);
  s.instretHi = Number(instret >> 32n);
  s.cycleLo = Number(cycle & 0xffffffffn);
  s.cycleHi = Number(cycle >> 32n);
  s.waiting = rec.waiting;
}
