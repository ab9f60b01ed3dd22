/**
 * The hart's migration state, described as QEMU 7.2's `cpu` (target/riscv/machine.c, version 5)
 * and `cpu_common` descriptions, field for field, so our vmdesc matches QEMU's. The description
 * is one table of rows, each a QEMU wire field (`env.*` names) with the {@link CpuState} fields it
 * carries: the record that is saved, the state a load installs and the checks a load runs are all
 * derived from it. Adding a scalar CSR is one row (`csr32("stvec")` instead of `zero32("stvec")`).
 * QEMU fields for features we do not model (F, H, PMU, AIA) travel as zeros; the ones that would
 * change behaviour must load as zeros. State QEMU keeps elsewhere (minstret/mcycle, which drive our
 * virtual time) goes in a snapshell subsection.
 *
 * `halted` travels twice: in `cpu_common` (QEMU's) and in `cpu/snapshell-counters` (`waiting`,
 * older snapshell streams have it). Both are written from {@link CpuState.waiting}; a stream in
 * which they disagree is rejected ({@link checkHaltedAgrees}).
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import type { StateRecord, VmStateField } from "../../migration/vmstate/description.ts";
import { compiledField } from "../../migration/vmstate/compile.ts";
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

/** Keys of CpuState that hold one 32-bit number. */
type ScalarKey = { [K in keyof CpuState]: CpuState[K] extends number ? K : never }[keyof CpuState];

/** One row: a wire field and how CpuState fills it, is filled from it, and what a load rejects. */
export interface CpuRow {
  /** The QEMU field (key `env.NAME` for QEMU's env, a top-level key for our subsection). */
  readonly field: VmStateField;
  /** The CpuState fields this row carries (none for constants). */
  readonly uses: readonly (keyof CpuState)[];
  /** The value saved for `s` (`resetPc` is configuration: QEMU's resetvec). */
  save(s: CpuState, resetPc: number): unknown;
  /** Install a loaded value (after the whole stream was accepted); absent: ignored. */
  load?(s: CpuState, v: unknown): void;
  /** Why a loaded value cannot be represented by this hart, or undefined when it can. */
  check?(v: unknown): string | undefined;
}

const env = (name: string) => `env.${name}`;

/** QEMU 7.2's `priv_ver` for privileged spec 1.12 (an enum: 1.10 = 0, 1.11 = 1, 1.12 = 2). */
const QEMU_PRIV_VERSION_1_12_0 = 2;
/** QEMU 7.2's `env.features`: RISCV_FEATURE_MMU (bit 0) | PMP (1) | DEBUG (4) = 0x13. */
const QEMU_FEATURES = 0x13;

/** A 32-bit CSR QEMU names `env.NAME`, held in CpuState as `key` (default: the same name). */
function csr32(name: string, key = name as ScalarKey): CpuRow {
  return {
    field: uint32(env(name)),
    uses: [key],
    save: (s) => s[key] >>> 0,
    load: (s, v) => void (s[key] = (v as number) >>> 0),
  };
}

/**
 * A CSR QEMU keeps as a 64-bit `target_ulong` or `uint64_t`: our 32 bits, zero-extended. With
 * `strict`, upper bits are rejected; otherwise they are dropped, as a 32-bit hart would.
 */
function csr64(name: string, key = name as ScalarKey, strict = false): CpuRow {
  return {
    field: uint64(env(name)),
    uses: [key],
    save: (s) => BigInt(s[key] >>> 0),
    load: (s, v) => void (s[key] = Number((v as bigint) & 0xffffffffn) >>> 0),
    check: strict
      ? (v) => (v as bigint) > 0xffffffffn ? "has bits above 31" : undefined
      : undefined,
  };
}

/** A QEMU field this hart does not model: always `value` on save, ignored on load. */
function fixed(field: VmStateField, value: CpuRow["save"], check?: CpuRow["check"]): CpuRow {
  return { field, uses: [], save: value, check };
}

const zero32 = (name: string) => fixed(uint32(env(name)), () => 0);
const zero64 = (name: string) => fixed(uint64(env(name)), () => 0n);
/** `n` copies of a zero value (a fresh array per save: a load writes into the record). */
const zeros = <T>(n: number, v: () => T) => () => Array.from({ length: n }, v);
/** `n` copies of a primitive zero, filled natively (this runs on every save and fuzz reset). */
const fill = (n: number, v: number | bigint) => () => new Array(n).fill(v);

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

const pmu = () => ({
  mhpmcounter_val: 0,
  mhpmcounterh_val: 0,
  mhpmcounter_prev: 0,
  mhpmcounterh_prev: 0,
  started: false,
});

/** The rows of QEMU's `cpu` description, in wire order. */
export const CPU_ROWS: readonly CpuRow[] = [
  {
    field: array(env("gpr"), vmstateUint32, 32),
    uses: ["x"],
    save: (s) => Array.from(s.x, (v) => v >>> 0),
    load: (s, v) => {
      s.x.set(v as number[]);
      s.x[0] = 0;
    },
  },
  fixed(
    array(env("fpr"), vmstateUint64, 32),
    fill(32, 0n),
    (v) =>
      (v as bigint[]).some((x) => x !== 0n) ? "holds values but F/D are not modelled" : undefined,
  ),
  fixed(array(env("miprio"), vmstateUint8, 64), fill(64, 0)),
  fixed(array(env("siprio"), vmstateUint8, 64), fill(64, 0)),
  {
    ...csr32("pc"),
    check: (v) =>
      (v as number) % 2 !== 0 ? `0x${(v as number).toString(16)} is not 2-byte aligned` : undefined,
  },
  {
    field: uint32(env("load_res")),
    uses: ["resValid", "resAddr"],
    save: (s) => s.resValid ? s.resAddr >>> 0 : 0xffffffff,
    load: (s, v) => {
      s.resValid = v === 0xffffffff ? 0 : 1;
      s.resAddr = s.resValid ? (v as number) >>> 0 : 0;
    },
  },
  zero32("load_val"),
  zero32("frm"),
  zero32("badaddr"),
  zero32("guest_phys_fault_addr"),
  fixed(uint32(env("priv_ver")), () => QEMU_PRIV_VERSION_1_12_0),
  zero32("vext_ver"),
  fixed(
    uint32(env("misa_mxl")),
    () => 1,
    (v) => v !== 1 ? `is ${v}, this hart is RV32` : undefined,
  ),
  {
    field: uint32(env("misa_ext")),
    uses: ["misa"],
    save: (s) => s.misa & 0x3ffffff,
    load: (s, v) => void (s.misa = (MISA_RV32IMASU & ~0x3ffffff) | (v as number)),
    check: (v) =>
      (((v as number) | (MISA_RV32IMASU & 0x3ffffff)) !== (MISA_RV32IMASU & 0x3ffffff))
        ? `0x${(v as number).toString(16)} names extensions this hart lacks`
        : undefined,
  },
  fixed(uint32(env("misa_mxl_max")), () => 1),
  // As QEMU 7.2 fills them for this hart: the extension mask equals misa_ext, and the feature
  // bits name the MMU, PMP and debug triggers (QEMU drops paging without them).
  fixed(uint32(env("misa_ext_mask")), (s) => s.misa & 0x3ffffff),
  fixed(uint32(env("features")), () => QEMU_FEATURES),
  {
    ...csr32("priv"),
    check: (v) =>
      v !== PRV_M && v !== PRV_S && v !== PRV_U
        ? `is ${v}: only M (3), S (1) and U (0) exist`
        : undefined,
  },
  fixed(
    uint32(env("virt")),
    () => 0,
    (v) => v !== 0 ? "is set but the hypervisor extension is not modelled" : undefined,
  ),
  fixed(uint64(env("resetvec")), (_s, resetPc) => BigInt(resetPc >>> 0)),
  csr32("mhartid"),
  {
    ...csr64("mstatus", "mstatus", true),
    check: (v) =>
      (v as bigint) > 0xffffffffn
        ? "has bits above 31"
        : ((v as bigint) >> 11n & 3n) === 2n
        ? "has the reserved MPP value 2"
        : undefined,
  },
  csr64("mip"),
  zero64("miclaim"),
  csr64("mie"),
  csr64("mideleg"),
  csr32("satp"),
  csr32("stval"),
  csr32("medeleg"),
  csr32("stvec"),
  csr32("sepc"),
  csr32("scause"),
  csr32("mtvec"),
  csr32("mepc"),
  csr32("mcause"),
  csr32("mtval"),
  zero32("miselect"),
  zero32("siselect"),
  csr32("scounteren"),
  csr32("mcounteren"),
  zero32("mcountinhibit"),
  fixed(structArray(env("pmu_ctrs"), vmstateCpuPmu, 32), zeros(32, pmu)),
  fixed(array(env("mhpmevent_val"), vmstateUint32, 32), fill(32, 0)),
  fixed(array(env("mhpmeventh_val"), vmstateUint32, 32), fill(32, 0)),
  csr32("sscratch"),
  csr32("mscratch"),
  zero64("mfromhost"),
  zero64("mtohost"),
  zero64("stimecmp"),
];

/** The row of `cpu/pmp`: our pmpaddr/pmpcfg as QEMU's 16 entries. */
const PMP_ROWS: readonly CpuRow[] = [{
  field: structArray(env("pmp_state.pmp"), vmstatePmpEntry, 16),
  uses: ["pmpaddr", "pmpcfg"],
  save: (s) =>
    Array.from({ length: 16 }, (_, i) => ({ addr_reg: s.pmpaddr[i], cfg_reg: s.pmpcfg[i] })),
  load: (s, v) => {
    const pmp = v as { addr_reg: number; cfg_reg: number }[];
    for (let i = 0; i < 16; i++) {
      s.pmpaddr[i] = pmp[i].addr_reg >>> 0;
      s.pmpcfg[i] = pmp[i].cfg_reg & 0xff;
    }
  },
}];

/** A 64-bit counter held as two uint32 halves. */
function counter64(name: string, lo: ScalarKey, hi: ScalarKey): CpuRow {
  return {
    field: uint64(name),
    uses: [lo, hi],
    save: (s) => BigInt(s[hi]) << 32n | BigInt(s[lo]),
    load: (s, v) => {
      const n = BigInt.asUintN(64, v as bigint);
      s[lo] = Number(n & 0xffffffffn);
      s[hi] = Number(n >> 32n);
    },
  };
}

/** The rows of `cpu/snapshell-counters`. */
const COUNTER_ROWS: readonly CpuRow[] = [
  counter64("minstret", "instretLo", "instretHi"),
  counter64("mcycle", "cycleLo", "cycleHi"),
  {
    ...csr32("waiting", "waiting"),
    field: uint32("waiting"),
    check: (v) => v !== 0 && v !== 1 ? `is ${v}` : undefined,
  },
];

/** The row of `cpu/snapshell-seip`: QEMU's `software_seip`, which QEMU does not migrate. */
const SEIP_ROWS: readonly CpuRow[] = [{
  ...csr32("software_seip", "softwareSeip"),
  field: uint32("software_seip"),
  check: (v) => (v as number) > 1 ? `is ${v}` : undefined,
}];

/** Every row of the `cpu` section, subsections included. */
export const ALL_CPU_ROWS: readonly CpuRow[] = [
  ...CPU_ROWS,
  ...PMP_ROWS,
  ...COUNTER_ROWS,
  ...SEIP_ROWS,
];

/** Reject records our hart cannot represent (they would silently change behaviour). */
export function validateCpuRecord(rec: StateRecord): void {
  for (const row of ALL_CPU_ROWS) {
    if (!row.check) continue;
    const why = row.check(compiledField(row.field).get(rec));
    if (why !== undefined) throw new StateValidationError(`cpu: ${row.field.name} ${why}`);
  }
}

/** QEMU's `cpu/pmp` subsection (sent when the hart has PMP, as ours does). */
export const vmstateCpuPmp = vmsd({
  name: "cpu/pmp",
  versionId: 1,
  needed: () => true,
  fields: PMP_ROWS.map((r) => r.field),
});

/** snapshell's counters subsection: minstret/mcycle drive virtual time, so they must travel. */
export const vmstateCpuCounters = vmsd({
  name: "cpu/snapshell-counters",
  versionId: 1,
  needed: () => true,
  fields: COUNTER_ROWS.map((r) => r.field),
});

/**
 * The SEIP bit software wrote to mip (QEMU's `software_seip`, kept apart from the PLIC's line).
 * QEMU does not migrate it; snapshell sends it only when it is set, so streams without it stay
 * QEMU's and older snapshell streams load unchanged.
 */
export const vmstateCpuSeip = vmsd({
  name: "cpu/snapshell-seip",
  versionId: 1,
  needed: (rec: StateRecord) => rec.software_seip !== 0,
  fields: SEIP_ROWS.map((r) => r.field),
});

/** QEMU 7.2's `cpu` description for rv32. */
export const vmstateRiscvCpu = vmsd({
  name: "cpu",
  versionId: 5,
  minimumVersionId: 5,
  fields: CPU_ROWS.map((r) => r.field),
  subsections: [vmstateCpuPmp, vmstateCpuCounters, vmstateCpuSeip],
  postLoad: (s: StateRecord) => validateCpuRecord(s),
});

/** QEMU's `cpu_common`: `halted` and `interrupt_request`. */
export const vmstateCpuCommon = vmsd({
  name: "cpu_common",
  versionId: 1,
  fields: [uint32("halted"), uint32("interrupt_request")],
});

/** Build QEMU's `cpu` record from our state (what is saved). */
export function cpuToRecord(s: CpuState, resetPc: number): StateRecord {
  const rec: StateRecord = {};
  for (const row of ALL_CPU_ROWS) {
    compiledField(row.field).set(rec, row.save(s, resetPc));
  }
  return rec;
}

/** Install a loaded `cpu` record into our state (after the whole stream was accepted). */
export function cpuFromRecord(s: CpuState, rec: StateRecord): void {
  for (const row of ALL_CPU_ROWS) row.load?.(s, compiledField(row.field).get(rec));
}

/** `cpu_common`'s record from our state: `halted` is {@link CpuState.waiting}. */
export function cpuCommonRecord(s: CpuState): StateRecord {
  return { halted: s.waiting, interrupt_request: 0 };
}

/**
 * The one-source-of-truth check for `halted`: run on the staged records of a load before
 * anything commits, a stream whose `cpu_common.halted` and `cpu/snapshell-counters.waiting`
 * disagree is rejected (the second used to win silently).
 */
export function checkHaltedAgrees(common: StateRecord | undefined, cpu: StateRecord | undefined) {
  if (!common || !cpu) return;
  const halted = common.halted ? 1 : 0;
  if (halted !== cpu.waiting) {
    throw new StateValidationError(
      `cpu_common.halted is ${common.halted} but cpu/snapshell-counters.waiting is ${cpu.waiting}: the stream says two different things about whether the hart waits`,
      { section: "cpu", path: "cpu/snapshell-counters.waiting" },
    );
  }
}

// ---- QEMU 7.2's own `cpu` (the `qemu-virt` profile) ----
//
// The profile sends exactly QEMU's section: the rows above for the state this hart models, and
// QEMU's values, as last loaded or as QEMU 7.2 starts them, for everything else (priority
// tables, resetvec, miclaim, the H/envcfg/debug subsections). Nothing snapshell-only travels.

/** QEMU 7.2's misa extension bits for `-cpu rv32` (the virt default): IMAFDCSUH = 0x1411ad. */
export const QEMU_MISA_EXT = 0x1411ad;

/**
 * misa extension bits of QEMU 7.2's `-cpu rv32,f=off,d=off,c=off,h=off,...` (QEMU_RV32IMA_CPU,
 * how the Linux guest runs on QEMU): IMASU, this hart's own.
 */
export const QEMU_RV32IMA_MISA_EXT = MISA_RV32IMASU & 0x3ffffff;

/** Sets QEMU's `misa_ext_mask` of a carried `cpu` record (QEMU fills it with misa_ext). */
export function setQemuMisaMask(rec: StateRecord, ext: number): void {
  compiledField(u32("misa_ext_mask")).set(rec, ext);
}

const QEMU_FEATURE_PMP = 1 << 1;
const QEMU_FEATURE_DEBUG = 1 << 4;
const MISA_H = 1 << 7;

const u32 = (name: string) => uint32(env(name));
const u64 = (name: string) => uint64(env(name));

/** QEMU's `cpu/hyper` v2 (sent when misa has H, as QEMU's default rv32 does). */
export const vmstateQemuCpuHyper = vmsd({
  name: "cpu/hyper",
  versionId: 2,
  minimumVersionId: 2,
  needed: (rec: StateRecord) =>
    ((compiledField(u32("misa_ext")).get(rec) as number) & MISA_H) !== 0,
  fields: [
    u32("hstatus"),
    u32("hedeleg"),
    u64("hideleg"),
    u32("hcounteren"),
    u32("htval"),
    u32("htinst"),
    u32("hgatp"),
    u32("hgeie"),
    u32("hgeip"),
    u64("htimedelta"),
    u64("vstimecmp"),
    u32("hvictl"),
    array(env("hviprio"), vmstateUint8, 64),
    u64("vsstatus"),
    u32("vstvec"),
    u32("vsscratch"),
    u32("vsepc"),
    u32("vscause"),
    u32("vstval"),
    u32("vsatp"),
    u32("vsiselect"),
    u32("mtval2"),
    u32("mtinst"),
    u32("stvec_hs"),
    u32("sscratch_hs"),
    u32("sepc_hs"),
    u32("scause_hs"),
    u32("stval_hs"),
    u32("satp_hs"),
    u64("mstatus_hs"),
  ],
});

/** QEMU's `cpu/envcfg` v1 (sent for privileged spec 1.12). */
export const vmstateQemuCpuEnvcfg = vmsd({
  name: "cpu/envcfg",
  versionId: 1,
  minimumVersionId: 1,
  needed: (rec: StateRecord) => (compiledField(u32("priv_ver")).get(rec) as number) >= 2,
  fields: [u64("menvcfg"), u32("senvcfg"), u64("henvcfg")],
});

/** QEMU's `cpu/debug` v2 (sent when the debug trigger feature is on). */
export const vmstateQemuCpuDebug = vmsd({
  name: "cpu/debug",
  versionId: 2,
  minimumVersionId: 2,
  needed: (rec: StateRecord) =>
    ((compiledField(u32("features")).get(rec) as number) & QEMU_FEATURE_DEBUG) !== 0,
  fields: [
    u32("trigger_cur"),
    array(env("tdata1"), vmstateUint32, 2),
    array(env("tdata2"), vmstateUint32, 2),
    array(env("tdata3"), vmstateUint32, 2),
  ],
});

/** QEMU's `cpu/pmp`, with QEMU's `needed` (the PMP feature bit). */
export const vmstateQemuCpuPmp = vmsd({
  name: "cpu/pmp",
  versionId: 1,
  needed: (rec: StateRecord) =>
    ((compiledField(u32("features")).get(rec) as number) & QEMU_FEATURE_PMP) !== 0,
  fields: PMP_ROWS.map((r) => r.field),
});

/** The rows the profile takes from this hart; every other QEMU field is carried. */
const QEMU_MODELLED_ROWS: readonly CpuRow[] = [...CPU_ROWS, ...PMP_ROWS].filter((r) => r.load);

/** Checks of a QEMU record: the hart's, except misa (QEMU's extensions are carried). */
function validateQemuCpuRecord(rec: StateRecord): void {
  for (const row of [...CPU_ROWS, ...PMP_ROWS]) {
    if (!row.check || row.field.name === env("misa_ext")) continue;
    const why = row.check(compiledField(row.field).get(rec));
    if (why !== undefined) throw new StateValidationError(`cpu: ${row.field.name} ${why}`);
  }
  const misa = compiledField(u32("misa_ext")).get(rec) as number;
  const need = MISA_RV32IMASU & 0x3ffffff;
  if ((misa & need) !== need) {
    throw new StateValidationError(
      `cpu: env.misa_ext 0x${misa.toString(16)} lacks extensions of RV32IMASU this hart implements`,
      { path: "cpu.env.misa_ext" },
    );
  }
  if ((compiledField(u32("virt")).get(rec) as number) !== 0) {
    throw new StateValidationError("cpu: env.virt is set: the hart runs a guest in VS/VU mode");
  }
}

/** QEMU 7.2's `cpu` for the `qemu-virt` profile: QEMU's subsections with QEMU's `needed`. */
export const vmstateQemuRiscvCpu = vmsd({
  name: "cpu",
  versionId: 5,
  minimumVersionId: 5,
  fields: CPU_ROWS.map((r) => r.field),
  subsections: [vmstateQemuCpuPmp, vmstateQemuCpuHyper, vmstateQemuCpuEnvcfg, vmstateQemuCpuDebug],
  postLoad: (s: StateRecord) => validateQemuCpuRecord(s),
});

/** QEMU's record for `s`: the carried QEMU fields with this hart's modelled rows on top. */
export function qemuCpuToRecord(s: CpuState, carry: StateRecord, resetPc: number): StateRecord {
  const rec = structuredClone(carry);
  for (const row of QEMU_MODELLED_ROWS) compiledField(row.field).set(rec, row.save(s, resetPc));
  return rec;
}

/** Install a loaded QEMU `cpu` record's modelled rows (the rest stays in the carried record). */
export function qemuCpuFromRecord(s: CpuState, rec: StateRecord): void {
  for (const row of QEMU_MODELLED_ROWS) row.load!(s, compiledField(row.field).get(rec));
}

/** A zero of `f`'s wire type (uint64 fields are bigints; arrays are `num` zeros). */
function zeroOf(f: VmStateField): unknown {
  const one = f.size === 8 ? 0n : 0;
  return f.num !== undefined ? new Array(f.num).fill(one) : one;
}

/**
 * QEMU 7.2's `cpu` record of a `-M virt -cpu rv32` hart at reset (resetvec 0x1000, QEMU's
 * extensions, priority tables and trigger types), with this hart's reset state in the rows it
 * models. Values read from tools/qemu-fixtures' `virt-reset` stream; a test compares them.
 */
export function qemuCpuDefaults(s: CpuState): StateRecord {
  const rec: StateRecord = {};
  for (const row of [...CPU_ROWS, ...PMP_ROWS]) {
    compiledField(row.field).set(rec, row.save(s, QEMU_RESETVEC));
  }
  for (const sub of [vmstateQemuCpuHyper, vmstateQemuCpuEnvcfg, vmstateQemuCpuDebug]) {
    for (const f of sub.fields) compiledField(f).set(rec, zeroOf(f));
  }
  const set = (name: string, v: unknown) => compiledField(u32(name)).set(rec, v);
  set("misa_ext", QEMU_MISA_EXT);
  set("misa_ext_mask", QEMU_MISA_EXT);
  compiledField(array(env("miprio"), vmstateUint8, 64)).set(rec, prioTable(QEMU_MIPRIO_HEAD));
  compiledField(array(env("siprio"), vmstateUint8, 64)).set(rec, prioTable(QEMU_SIPRIO_HEAD));
  compiledField(array(env("hviprio"), vmstateUint8, 64)).set(rec, QEMU_HVIPRIO.slice());
  compiledField(array(env("tdata1"), vmstateUint32, 2)).set(rec, [QEMU_TDATA1, QEMU_TDATA1]);
  compiledField(u64("miclaim")).set(rec, QEMU_MICLAIM);
  return rec;
}

/** QEMU's resetvec on virt: the mrom's reset stub. */
export const QEMU_RESETVEC = 0x1000;
/** QEMU 7.2's miclaim on virt at reset (MIP_SGEIP, claimed by the hart itself). */
const QEMU_MICLAIM = 0x1000n;

/**
 * QEMU 7.2's default interrupt priorities (riscv_cpu_default_priority, as riscv_cpu_reset
 * fills miprio/siprio): IRQs 0..15 differ between the two tables; 16..47 are the same; 0xff is
 * "no priority".
 */
const QEMU_MIPRIO_HEAD = [255, 20, 24, 17, 255, 21, 25, 18, 255, 19, 23, 0, 22, 255, 255, 255];
const QEMU_SIPRIO_HEAD = [255, 20, 24, 17, 255, 21, 25, 18, 255, 0, 23, 16, 22, 255, 255, 255];
const QEMU_PRIO_TAIL = [
  ...[36, 33, 30, 27, 14, 11, 8, 5],
  ...new Array(8).fill(255),
  ...[37, 35, 34, 32, 31, 29, 28, 26, 15, 13, 12, 10, 9, 7, 6, 4],
  ...new Array(16).fill(255),
];
const prioTable = (head: number[]) => [...head, ...QEMU_PRIO_TAIL];
/** QEMU 7.2's hviprio at reset (set by riscv_cpu_reset for the VS-level IRQs). */
const QEMU_HVIPRIO = [
  ...[0, 20, 0, 0, 0, 21, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255],
  ...[36, 33, 30, 27, 14, 11, 8, 5],
  ...new Array(40).fill(0),
];
/** QEMU 7.2's tdata1 reset value: trigger type 2 (mcontrol) in bits 31:28 of rv32. */
const QEMU_TDATA1 = 0x2000_0000;

/** QEMU's CPU_INTERRUPT_HARD: riscv_cpu_update_mip raises it exactly while env.mip is not 0. */
const CPU_INTERRUPT_HARD = 0x2;

/** `cpu_common` as QEMU 7.2 writes it: `interrupt_request` is HARD while any mip bit is set. */
export function qemuCpuCommonRecord(s: CpuState): StateRecord {
  return { halted: s.waiting, interrupt_request: s.mip !== 0 ? CPU_INTERRUPT_HARD : 0 };
}
