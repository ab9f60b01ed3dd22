import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { MmioDevice } from "../../../emu/bus.ts";
import { BLOCK_SIZE } from "../../../emu/cpu/cpu.ts";
import { CSR } from "../../../emu/cpu/csr.ts";
import { Cause, Irq, MSTATUS } from "../../../emu/cpu/trap.ts";
import { PRV_S } from "../../../emu/cpu/state.ts";
import { loadElf } from "../../../emu/elf.ts";
import { Ram } from "../../../emu/ram.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { runHtif } from "../_htif.ts";
import { addi, amo, csr, ECALL, j, lui, lw, machine, NOP, sb, sw, WFI } from "./_asm.ts";

const FIXTURES = new URL("../../fixtures/isa/", import.meta.url);

for (const name of ["alu", "branch", "mem", "muldiv", "amo", "csr", "trap", "super", "paging"]) {
  Deno.test(`run() passes our ${name}.S ISA test`, () => {
    const r = runHtif(Deno.readFileSync(new URL(`${name}.elf`, FIXTURES)), 100_000);
    assertEquals(r.tohost, 1, `failed test ${r.failedTest}`);
  });
}

const RAM = 0x8000_0000;

Deno.test("run() returns the budget and counts instret across blocks", () => {
  const { cpu } = machine([addi(1, 1, 1), j(-4)]);
  const n = BLOCK_SIZE * 3 + 5;
  assertEquals(cpu.run(n), n);
  assertEquals(cpu.instret, n);
  assertEquals(cpu.state.x[1], Math.ceil(n / 2));
  assertEquals(cpu.stopReason, "budget");
});

Deno.test("a pending enabled timer interrupt traps to vectored mtvec between blocks", () => {
  const { cpu, ram } = machine([addi(1, 1, 1), j(-4)]);
  ram.write(RAM + 0x100, new Uint8Array(new Uint32Array(16).fill(NOP).buffer));
  const s = cpu.state;
  s.mtvec = (RAM + 0x100) | 1;
  s.mie = 1 << Irq.MTI;
  s.mstatus = MSTATUS.MIE;
  cpu.run(10);
  cpu.setIrq(Irq.MTI, true);
  cpu.run(1);
  assertEquals(s.mcause, (0x8000_0000 | Irq.MTI) >>> 0);
  assertEquals(s.mepc, RAM); // after 10 steps (5 loops) pc is back at the start
  assertEquals(s.mstatus & (MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPP), MSTATUS.MPIE | MSTATUS.MPP);
  assertEquals(s.pc, RAM + 0x100 + 4 * Irq.MTI + 4);
});

Deno.test("interrupts are masked by mstatus.MIE in M mode and taken MSI, MTI, MEI (QEMU 7.2)", () => {
  const { cpu, ram } = machine([NOP, j(-4)]);
  ram.write(RAM + 0x200, new Uint8Array(new Uint32Array(4).fill(NOP).buffer));
  const s = cpu.state;
  s.mtvec = RAM + 0x200;
  s.mie = (1 << Irq.MTI) | (1 << Irq.MSI) | (1 << Irq.MEI);
  cpu.setIrq(Irq.MTI, true);
  cpu.setIrq(Irq.MEI, true);
  cpu.run(4);
  assertEquals(s.mcause, 0);
  s.mstatus = MSTATUS.MIE;
  cpu.setIrq(Irq.MSI, true);
  cpu.run(1);
  assertEquals(s.mcause, (0x8000_0000 | Irq.MSI) >>> 0);
  s.mstatus = MSTATUS.MIE;
  cpu.setIrq(Irq.MSI, false);
  cpu.run(1);
  assertEquals(s.mcause, (0x8000_0000 | Irq.MTI) >>> 0);
  s.mstatus = MSTATUS.MIE;
  cpu.setIrq(Irq.MTI, false);
  cpu.run(1);
  assertEquals(s.mcause, (0x8000_0000 | Irq.MEI) >>> 0);
});

Deno.test("WFI stops run() until an enabled interrupt is pending, even with MIE clear", () => {
  const { cpu } = machine([WFI, addi(1, 0, 7), j(0)]);
  const s = cpu.state;
  assertEquals(cpu.run(100), 1);
  assertEquals(cpu.stopReason, "wfi");
  assert(cpu.halted);
  assertEquals(cpu.run(100), 0);
  s.mie = 1 << Irq.MTI;
  cpu.setIrq(Irq.MTI, true);
  cpu.run(2);
  assertEquals(s.x[1], 7); // resumed after WFI without trapping (MIE = 0)
  assertEquals(s.waiting, 0);
});

Deno.test("a store into code drops the decoded op (self-modifying code is exact)", () => {
  const { cpu, ram } = machine([
    lui(2, RAM >>> 12),
    NOP, // +4
    NOP, // +8: executed (and decoded) once, then patched
    lw(3, 2, 28), // +12: load the patch word
    sw(3, 2, 8), // +16: patch +8
    j(-12), // +20: back to +8
    j(0), // +24
    addi(1, 0, 9), // +28: patch source
  ]);
  cpu.run(5);
  assertEquals(ram.decoded[2], 0); // the sw dropped the cached NOP
  cpu.run(2); // j, then the patched +8
  assertEquals(cpu.state.x[1], 9);
});

Deno.test("stores of every kind set the page's dirty bit", () => {
  const page = (addr: number) => (addr - RAM) >>> 12;
  const { cpu, ram } = machine([
    lui(2, (RAM + 0x3000) >>> 12), // x2 = RAM+0x3000
    sw(0, 2, 0),
    lui(2, (RAM + 0x5000) >>> 12),
    sb(0, 2, 1),
    lui(2, (RAM + 0x7000) >>> 12),
    amo(0x01, 0, 2, 0), // amoswap
    lui(2, (RAM + 0x9000) >>> 12),
    amo(0x02, 0, 2, 0), // lr
    amo(0x03, 0, 2, 0), // sc
    lui(2, (RAM + 0xb000) >>> 12),
    sw(0, 2, 2), // misaligned: slow path
  ]);
  ram.clearDirty();
  cpu.run(11);
  assertEquals([...ram.dirtyPages()], [0x3, 0x5, 0x7, 0x9, 0xb].map((p) => page(RAM + p * 4096)));
  ram.write(RAM + 0xd000, new Uint8Array(1));
  assert(ram.isDirty(0xd));
});

Deno.test("unmapped accesses raise access faults with mtval = address (cause 5, 7, 1)", () => {
  const { cpu } = machine([lui(2, 0x40000), lw(1, 2, 4), NOP, NOP]);
  const s = cpu.state;
  s.mtvec = RAM + 8;
  cpu.run(2);
  assertEquals([s.mcause, s.mtval, s.mepc], [Cause.LoadAccessFault, 0x4000_0004, RAM + 4]);
  const m2 = machine([lui(2, 0x40000), sw(1, 2, 8), NOP, NOP]);
  m2.cpu.state.mtvec = RAM + 8;
  m2.cpu.run(2);
  assertEquals([m2.cpu.state.mcause, m2.cpu.state.mtval], [Cause.StoreAccessFault, 0x4000_0008]);
  const m3 = machine([NOP]);
  m3.cpu.state.mtvec = RAM;
  m3.cpu.state.pc = 0x1000;
  m3.cpu.run(1);
  assertEquals([m3.cpu.state.mcause, m3.cpu.state.mtval], [Cause.InstructionAccessFault, 0x1000]);
});

Deno.test("MMIO: loads/stores reach the device, which can raise an IRQ or request exit", () => {
  const writes: [number, number, number][] = [];
  const { cpu, bus } = machine([lui(2, 0x10000), addi(1, 0, 0x41), sb(1, 2, 5), lw(3, 2, 8), j(0)]);
  const dev: MmioDevice = {
    read: (off) => off === 8 ? 0xcafe : 0,
    write: (off, size, v) => {
      writes.push([off, size, v]);
      cpu.requestExit();
    },
  };
  bus.map(0x1000_0000, 0x100, dev, "uart0");
  assertEquals(cpu.run(100), 3);
  assertEquals(cpu.stopReason, "exit");
  assertEquals(writes, [[5, 1, 0x41]]);
  cpu.run(1);
  assertEquals(cpu.state.x[3], 0xcafe);
});

Deno.test("time CSR comes from the machine's callback; U mode needs mcounteren.TM", () => {
  const { cpu } = machine([csr(2, 1, 0, CSR.time), csr(2, 2, 0, CSR.timeh)], {
    time: () => 0x1_0000_0005,
  });
  cpu.run(2);
  assertEquals([cpu.state.x[1], cpu.state.x[2]], [5, 1]);
});

Deno.test("ECALL from M traps with cause 11 and does not retire", () => {
  const { cpu } = machine([ECALL, NOP]);
  cpu.state.mtvec = RAM + 4;
  assertEquals(cpu.run(1), 1);
  assertEquals([cpu.state.mcause, cpu.state.mepc, cpu.instret], [11, RAM, 0]);
});

Deno.test("run() is deterministic: same program and budget give the same state", () => {
  const prog = [addi(1, 1, 3), amo(0x00, 3, 2, 1), lui(2, (RAM + 0x8000) >>> 12), j(-12)];
  const a = machine(prog), b = machine(prog);
  a.cpu.run(12345);
  b.cpu.run(10000);
  b.cpu.run(2345);
  assertEquals(a.cpu.state, b.cpu.state);
  assertEquals(a.ram.u8, b.ram.u8);
});

Deno.test("the compute-paged guest computes in S mode under Sv32 what compute-small computes", () => {
  const elf = Deno.readFileSync(
    new URL("../../../emu/guests/build/compute-paged.elf", import.meta.url),
  );
  const m = new VirtMachine({ ramSize: 16 << 20 });
  m.boot(elf);
  const iters = loadElf(elf, new Ram(16 << 20)).symbols.get("compute_iterations")!;
  m.ram.u32[(iters - m.ram.base) >>> 2] = 8; // the compute-small workload
  let sawPaging = false;
  let r;
  do {
    r = m.run(100_000);
    sawPaging ||= m.cpu.state.priv === PRV_S && m.cpu.state.satp >>> 31 === 1;
  } while (r.stop === "budget" && m.cpu.instret < 5_000_000);
  assertEquals([r.stop, r.exitCode, sawPaging], ["exit", 0, true]);
  const small = Deno.readTextFileSync(
    new URL("../../../emu/guests/expected/compute-small.qemu.txt", import.meta.url),
  );
  assertEquals(m.consoleText.trim(), small.replaceAll("\r\n", "\n").trim());
});

Deno.test("on virt the time CSR reads the mtimer, including an offset the guest wrote", () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const prog = [
    lui(5, 0x0200c), // t0 = CLINT mtime (0x0200bff8)
    addi(5, 5, -8),
    lui(6, 0x12345),
    sw(6, 5, 0),
    sw(0, 5, 4),
    csr(2, 10, 0, CSR.time), // rdtime a0
    csr(2, 11, 0, CSR.timeh),
    j(0),
  ];
  m.ram.write(m.ram.base, new Uint8Array(new Uint32Array(prog).buffer));
  m.cpu.state.pc = m.ram.base;
  m.run(20);
  const t = m.cpu.state.x[10] >>> 0;
  assert(t >= 0x1234_5000 && t < 0x1234_5000 + 10, `time 0x${t.toString(16)}`);
  assertEquals(m.cpu.state.x[11], 0);
});

Deno.test("SEIP: the PLIC's S line ORs with the bit software writes; delegated, it traps to S", () => {
  const { cpu } = machine([
    csr(1, 0, 5, CSR.mip), // csrw mip, t0 (t0 = SEIP)
    csr(1, 0, 0, CSR.mip), // csrw mip, zero
    NOP,
    j(0),
  ]);
  const s = cpu.state;
  s.x[5] = 1 << Irq.SEI;
  cpu.setIrq(Irq.SEI, true);
  cpu.run(1);
  assertEquals([s.softwareSeip, s.mip], [1, 1 << Irq.SEI]);
  cpu.setIrq(Irq.SEI, false);
  assertEquals(s.mip, 1 << Irq.SEI); // software still holds it
  cpu.setIrq(Irq.SEI, true);
  cpu.run(1); // software clears its bit; the line keeps SEIP up
  assertEquals([s.softwareSeip, s.mip], [0, 1 << Irq.SEI]);
  s.mideleg = 1 << Irq.SEI;
  s.mie = 1 << Irq.SEI;
  s.stvec = RAM + 8; // the NOP
  s.pmpaddr[0] = 0xffff_ffff; // S mode needs a PMP rule to reach memory
  s.pmpcfg[0] = 0x1f;
  cpu.invalidateCaches();
  s.priv = PRV_S;
  s.mstatus = MSTATUS.SIE;
  cpu.run(1);
  assertEquals([s.priv, s.scause, s.sepc, s.pc], [PRV_S, 0x8000_0009, RAM + 8, RAM + 12]);
  cpu.setIrq(Irq.SEI, false);
  assertEquals(s.mip, 0);
});
