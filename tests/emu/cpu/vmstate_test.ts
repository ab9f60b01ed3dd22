import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { CPU_STATE_FIELDS, type CpuState, createCpuState } from "../../../emu/cpu/state.ts";
import {
  ALL_CPU_ROWS,
  checkHaltedAgrees,
  cpuFromRecord,
  cpuToRecord,
  vmstateRiscvCpu,
} from "../../../emu/cpu/vmstate.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { StateValidationError } from "../../../migration/errors.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import type { StateRecord } from "../../../migration/vmstate/description.ts";
import { saveState } from "../../../migration/vmstate/save.ts";
import { loadTaggedState } from "../../../migration/extensions/tagged_load.ts";
import { TaggedSaver } from "../../../migration/extensions/tagged_save.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** A random hart state this hart can be in (M, S or U mode, even pc, its own misa). */
const cpuState = fc.record({
  x: fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: 32, maxLength: 32 }),
  scalars: fc.array(u32, {
    minLength: CPU_STATE_FIELDS.length,
    maxLength: CPU_STATE_FIELDS.length,
  }),
  pmpcfg: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  pmpaddr: fc.array(u32, { minLength: 16, maxLength: 16 }),
  priv: fc.constantFrom(0, 1, 3),
  waiting: fc.boolean(),
  res: fc.option(u32),
}).map((r) => {
  const s = createCpuState(0x8000_0000, 0);
  CPU_STATE_FIELDS.forEach((k, i) => {
    if (typeof s[k] === "number") (s as unknown as Record<string, number>)[k] = r.scalars[i];
  });
  s.x.set(r.x);
  s.x[0] = 0;
  s.pc = (s.pc & ~1) >>> 0;
  s.priv = r.priv;
  if (((s.mstatus >>> 11) & 3) === 2) s.mstatus = (s.mstatus & ~0x1000) >>> 0; // MPP 2 is reserved
  s.softwareSeip &= 1;
  s.waiting = r.waiting ? 1 : 0;
  s.misa = createCpuState().misa;
  s.resValid = r.res === null ? 0 : 1;
  s.resAddr = r.res === null ? 0 : r.res;
  if (s.resAddr === 0xffffffff) s.resAddr = 0;
  s.pmpcfg.set(r.pmpcfg);
  s.pmpaddr.set(r.pmpaddr);
  return s;
});

function throughQemu(rec: Record<string, unknown>): Record<string, unknown> {
  const w = new StreamWriter();
  saveState(w, vmstateRiscvCpu, rec);
  const into = cpuToRecord(createCpuState(), 0x8000_0000);
  loadState(StreamReader.fromBytes(w.take()), vmstateRiscvCpu, into, 5);
  return into;
}

function throughTagged(rec: Record<string, unknown>): Record<string, unknown> {
  const w = new StreamWriter();
  new TaggedSaver(w).save(vmstateRiscvCpu, rec);
  const into = cpuToRecord(createCpuState(), 0x8000_0000);
  loadTaggedState(StreamReader.fromBytes(w.take()), vmstateRiscvCpu, into);
  return into;
}

Deno.test("every CpuState field is carried by a row of the cpu description", () => {
  const carried = new Set(ALL_CPU_ROWS.flatMap((r) => r.uses));
  deepStrictEqual(CPU_STATE_FIELDS.filter((k) => !carried.has(k)), []);
});

Deno.test("a random hart state saves and loads back to the same state, in both encodings", () => {
  fc.assert(
    fc.property(cpuState, (s) => {
      for (const walk of [throughQemu, throughTagged]) {
        const back = createCpuState(0x1000, 7);
        cpuFromRecord(back, walk(cpuToRecord(s, 0x8000_0000)));
        deepStrictEqual(back, s);
      }
    }),
    { numRuns: 60 },
  );
});

Deno.test("QEMU's env names map onto our fields, constants travel as QEMU has them", () => {
  const s = createCpuState(0x8000_0000, 2);
  s.mstatus = 0x88;
  s.resValid = 0;
  const rec = cpuToRecord(s, 0x8000_0000);
  strictEqual(rec.env.mstatus, 0x88n);
  strictEqual(rec.env.mhartid, 2);
  strictEqual(rec.env.load_res, 0xffffffff, "no reservation is QEMU's -1");
  strictEqual(rec.env.priv_ver, 2, "QEMU 7.2's PRIV_VERSION_1_12_0");
  strictEqual(rec.env.features, 0x13);
  strictEqual(rec.env.misa_ext_mask, rec.env.misa_ext);
  strictEqual(rec.env.resetvec, 0x8000_0000n);
  strictEqual(rec.env.miselect, 0, "a CSR this hart lacks travels as zero");
  deepStrictEqual(Object.keys(rec).sort(), [
    "env",
    "mcycle",
    "minstret",
    "software_seip",
    "waiting",
  ]);
});

Deno.test("a record this hart cannot represent is rejected, naming the field", () => {
  const cases: [(r: StateRecord) => void, string][] = [
    [(r) => r.env.priv = 2, "cpu: env.priv is 2: only M (3), S (1) and U (0) exist"],
    [(r) => r.env.mstatus = 0x1000n, "cpu: env.mstatus has the reserved MPP value 2"],
    [(r) => r.software_seip = 2, "cpu: software_seip is 2"],
    [(r) => r.env.pc = 0x8000_0001, "cpu: env.pc 0x80000001 is not 2-byte aligned"],
    [(r) => r.env.fpr[3] = 1n, "cpu: env.fpr holds values but F/D are not modelled"],
    [(r) => r.env.mstatus = 1n << 40n, "cpu: env.mstatus has bits above 31"],
    [(r) => r.env.virt = 1, "cpu: env.virt is set but the hypervisor extension is not modelled"],
    [(r) => r.waiting = 2, "cpu: waiting is 2"],
  ];
  for (const [edit, message] of cases) {
    const rec = cpuToRecord(createCpuState(), 0x8000_0000);
    edit(rec);
    const w = new StreamWriter();
    saveState(w, vmstateRiscvCpu, rec);
    const into = cpuToRecord(createCpuState(), 0x8000_0000);
    let err: unknown;
    try {
      loadState(StreamReader.fromBytes(w.take()), vmstateRiscvCpu, into, 5);
    } catch (e) {
      err = e;
    }
    ok(err instanceof StateValidationError, message);
    ok(err.message.startsWith(message), `${err.message} / ${message}`);
  }
});

Deno.test("halted and waiting must agree: one fact, one answer", () => {
  checkHaltedAgrees({ halted: 1 }, { waiting: 1 });
  checkHaltedAgrees({ halted: 0 }, { waiting: 0 });
  checkHaltedAgrees(undefined, { waiting: 1 }); // a stream without cpu_common: nothing to compare
  let err: unknown;
  try {
    checkHaltedAgrees({ halted: 0 }, { waiting: 1 });
  } catch (e) {
    err = e;
  }
  ok(err instanceof StateValidationError);
  strictEqual(err.kind, "corrupt");
});

async function saved(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

Deno.test("a stream whose cpu_common.halted=0 contradicts waiting=1 is a typed error and changes nothing", async () => {
  const src = new VirtMachine({ ramSize: 1 << 20, disk: new Uint8Array(512) });
  src.cpu.state.waiting = 1;
  const bytes = await saved(src);
  // cpu_common's payload: idstr, instance id, version id, then halted (be32).
  const at = new TextDecoder("latin1").decode(bytes).indexOf("cpu_common") + 10 + 8;
  deepStrictEqual([...bytes.subarray(at, at + 4)], [0, 0, 0, 1]);
  const good = new VirtMachine({ ramSize: 1 << 20, disk: new Uint8Array(512) });
  await good.load(StreamReader.fromBytes(bytes));
  strictEqual(good.cpu.state.waiting, 1);
  bytes[at + 3] = 0;
  const dst = new VirtMachine({ ramSize: 1 << 20, disk: new Uint8Array(512) });
  dst.cpu.state.pc = 0x8000_0100;
  const before: CpuState = structuredClone(dst.cpu.state);
  await rejects(dst.load(StreamReader.fromBytes(bytes)), (e: unknown) => {
    ok(e instanceof StateValidationError, String(e));
    ok(e.message.includes("cpu_common.halted is 0 but cpu/snapshell-counters.waiting is 1"));
    return true;
  });
  deepStrictEqual(dst.cpu.state, before);
});
