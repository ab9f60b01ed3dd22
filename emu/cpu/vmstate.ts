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
