import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Bus } from "../../../emu/bus.ts";
import { Access, Mmu, TLB_SIZE, tlbBank } from "../../../emu/cpu/mmu.ts";
import { createCpuState, PRV_M, PRV_S, PRV_U } from "../../../emu/cpu/state.ts";
import { Cause, GuestTrap, MSTATUS } from "../../../emu/cpu/trap.ts";
import { Machine } from "../../../emu/machine.ts";
import { Ram } from "../../../emu/ram.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

const isTrap = (cause: number, tval: number) => (e: unknown) =>
  e instanceof GuestTrap && e.cause === cause && e.tval === tval;

Deno.test("Mmu turns bus errors into access faults carrying the virtual address", () => {
  const mmu = new Mmu(createCpuState(), new Bus(new Ram(4096)));
  throws(() => mmu.load(0x10, 4, true), isTrap(Cause.LoadAccessFault, 0x10));
  throws(() => mmu.store(0x20, 1, 0), isTrap(Cause.StoreAccessFault, 0x20));
  throws(() => mmu.fetch(0x30), isTrap(Cause.InstructionAccessFault, 0x30));
  throws(() => mmu.amo(0x40, (v) => v), isTrap(Cause.LoadAccessFault, 0x40)); // read first
});

Deno.test("Mmu.load() sign- or zero-extends misaligned RAM reads", () => {
  const ram = new Ram(4096);
  ram.write(0x8000_0001, new Uint8Array([0xfe, 0xff]));
  const mmu = new Mmu(createCpuState(), new Bus(ram));
  assertEquals(mmu.load(0x8000_0001, 2, true), -2);
  assertEquals(mmu.load(0x8000_0001, 2, false), 0xfffe);
  assertEquals(mmu.isDirect(mmu.dataMode()), true);
});

/** A 1 MiB RAM with an Sv32 root table at +0 and a leaf table at +0x1000 mapping VA 0x40000000. */
function sv32(leafFlags: number) {
  const ram = new Ram(1 << 20);
  const s = createCpuState();
  s.priv = PRV_S;
  s.pmpaddr[0] = 0xffff_ffff;
  s.pmpcfg[0] = 0x1f; // NAPOT, RWX for S and U
  const mmu = new Mmu(s, new Bus(ram));
  const root = ram.base, leaf = ram.base + 0x1000, page = ram.base + 0x2000;
  const w32 = (pa: number, v: number) => ram.u32[(pa - ram.base) >>> 2] = v >>> 0;
  w32(root + (0x100 << 2), ((leaf >>> 12) << 10) | 1);
  w32(leaf, ((page >>> 12) << 10) | leafFlags);
  s.satp = (0x8000_0000 | (root >>> 12)) >>> 0;
  mmu.invalidate();
  const pte = () => ram.u32[(leaf - ram.base) >>> 2];
  return { ram, s, mmu, page, pte };
}

const V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;

Deno.test("Sv32: a load sets A, a store sets D; the TLB grants stores only once D is set", () => {
  const { ram, mmu, page, pte } = sv32(V | R | W);
  ram.u32[(page - ram.base) >>> 2] = 0x1234;
  assertEquals(mmu.load(0x4000_0000, 4, true), 0x1234);
  assertEquals(pte() & (A | D), A);
  const k = 0x4_0000 & (TLB_SIZE - 1);
  assertEquals(mmu.tlbTag[tlbBank(Access.Load, PRV_S) + k], 0x4_0000);
  assertEquals(mmu.tlbTag[tlbBank(Access.Store, PRV_S) + k], -1); // clean page: no store entry
  assertEquals(mmu.tlbTag[tlbBank(Access.Fetch, PRV_S) + k], -1); // no X
  mmu.store(0x4000_0004, 4, 7);
  assertEquals(pte() & (A | D), A | D);
  assertEquals(mmu.tlbTag[tlbBank(Access.Store, PRV_S) + k], 0x4_0000);
  assertEquals(ram.u32[(page + 4 - ram.base) >>> 2], 7);
  mmu.flush();
  assertEquals(mmu.tlbTag[tlbBank(Access.Load, PRV_S) + k], -1);
});

Deno.test("Sv32: page faults carry the virtual address; a failed access sets no A bit", () => {
  const { mmu, pte } = sv32(V | R);
  throws(() => mmu.store(0x4000_0010, 4, 0), isTrap(Cause.StorePageFault, 0x4000_0010));
  throws(() => mmu.fetch(0x4000_0000), isTrap(Cause.InstructionPageFault, 0x4000_0000));
  throws(() => mmu.load(0x4000_1000, 1, false), isTrap(Cause.LoadPageFault, 0x4000_1000));
  assertEquals(pte() & A, 0);
});

Deno.test("Sv32: U pages need U mode, or SUM for S-mode data; MXR makes X pages readable", () => {
  const u = sv32(V | R | U | A);
  throws(() => u.mmu.load(0x4000_0000, 4, true), isTrap(Cause.LoadPageFault, 0x4000_0000));
  u.s.mstatus |= MSTATUS.SUM;
  u.mmu.sync();
  assertEquals(u.mmu.load(0x4000_0000, 4, true), 0);
  u.s.priv = PRV_M;
  u.s.mstatus |= MSTATUS.MPRV | (PRV_U << 11); // M mode loads as U through MPRV
  assertEquals(u.mmu.dataMode(), PRV_U);
  assertEquals(u.mmu.load(0x4000_0000, 4, true), 0);
  const x = sv32(V | X | A);
  throws(() => x.mmu.load(0x4000_0000, 4, true), isTrap(Cause.LoadPageFault, 0x4000_0000));
  x.s.mstatus |= MSTATUS.MXR;
  x.mmu.sync();
  assertEquals(x.mmu.load(0x4000_0000, 4, true), 0);
});

Deno.test("PMP refusals are access faults, also for the page-table walk", () => {
  const { s, mmu } = sv32(V | R | W | A | D);
  s.pmpcfg[0] = 0x18; // NAPOT, no permission
  mmu.invalidate();
  throws(() => mmu.load(0x4000_0000, 4, true), isTrap(Cause.LoadAccessFault, 0x4000_0000));
  s.satp = 0; // bare: the data access itself is refused
  mmu.sync();
  throws(() => mmu.store(0x8000_0000, 4, 0), isTrap(Cause.StoreAccessFault, 0x8000_0000));
});

Deno.test("a loaded snapshot drops the TLB: translations cached before the load are not used", async () => {
  // paging.S maps VA+0x4000 only at test 23. A machine that ran past that point holds the
  // mapping in its TLB with the same satp and mstatus as a snapshot taken at test 13, whose
  // test 14 must still fault on that page.
  const elf = Deno.readFileSync(new URL("../../fixtures/isa/paging.elf", import.meta.url));
  const boot = () => {
    const m = new Machine({ ramSize: 4 << 20 });
    m.boot(elf);
    return m;
  };
  const runToTest = (m: Machine, n: number) => {
    while (m.cpu.state.x[3] !== n) m.run(1);
  };
  const src = boot();
  runToTest(src, 13);
  const w = new StreamWriter();
  await src.save(w);
  const dst = boot();
  runToTest(dst, 24);
  assertEquals([dst.cpu.state.satp, dst.cpu.state.mstatus], [
    src.cpu.state.satp,
    src.cpu.state.mstatus,
  ]);
  await dst.load(StreamReader.fromBytes(w.take()));
  const r = dst.run(1_000_000);
  assertEquals([r.stop, r.exitCode], ["exit", 0]);
});

Deno.test("Sv32: a SUM load of a U page does not let S mode fetch from it", () => {
  const { s, mmu } = sv32(V | R | X | U | A);
  s.mstatus |= MSTATUS.SUM;
  mmu.sync();
  assertEquals(mmu.load(0x4000_0000, 4, true), 0);
  throws(() => mmu.fetchPage(0x4000_0000), isTrap(Cause.InstructionPageFault, 0x4000_0000));
});
