/**
 * Warming the run loop up before the first real guest: V8 optimises {@link Cpu}'s block loop with
 * the type feedback collected so far, and every path the guest reaches later for the first time
 * (a new opcode, a trap, MMIO, the TLB path...) throws the optimised code away ("insufficient type
 * feedback" deopts: 25-60 of them during a Linux boot, each followed by a recompilation of the
 * whole loop and by a stretch in V8's slow tiers). {@link warmUpCpu} runs a few ten thousand
 * instructions of a seeded random program through a throwaway hart once per process, in M, S and
 * U mode, paged and not, interpreted and translated, so the feedback is complete before the loop
 * is optimised. It changes nothing but speed: no state is shared with other harts.
 *
 * @module
 */

import { Bus } from "../bus.ts";
import { Ram } from "../ram.ts";
import { Cpu } from "./cpu.ts";
import { PRV_M, PRV_S, PRV_U } from "./state.ts";
import { Irq, MSTATUS } from "./trap.ts";

const PAGE = 0x1000;
const RAM_SIZE = 16 * PAGE;
/** Page 0 holds the M-mode trap handler, pages 1-7 the random code, 8-13 data, 14-15 page tables. */
const CODE_PAGES = 7;
const MMIO_BASE = 0x1000_0000;
/** Offsets of the Sv32 root and leaf tables in the warm-up RAM. */
const ROOT = 14 * PAGE, LEAF = 15 * PAGE;
/** Instructions per run() call of the warm-up (and per phase: SLICES of them). */
const SLICE = 250;
const SLICES = 12;

/** Register conventions of the random program: x1-x5 pointers (never written), x31 the handler's. */
const DATA = 1, DATA_HI = 2, MMIO = 3, CODE = 4, SATP = 5, SCRATCH = 31;

const enc = {
  i: (op: number, f3: number, rd: number, rs1: number, imm: number) =>
    (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0,
  s: (f3: number, rs1: number, rs2: number, imm: number) =>
    ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) |
      0x23) >>> 0,
  r: (op: number, f3: number, f7: number, rd: number, rs1: number, rs2: number) =>
    ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0,
  b: (f3: number, rs1: number, rs2: number, off: number) =>
    ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
      (f3 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0,
  j: (rd: number, off: number) =>
    ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) |
      (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0,
};

/** CSRs the random program reads and writes without breaking its own setup. */
const SAFE_CSRS = [0x340, 0x140, 0x300, 0x304, 0x344, 0xc01, 0xc00, 0xc02, 0x301, 0xf14, 0x180];
const READ_ONLY_CSRS = [0x300, 0x304, 0x344, 0xc01, 0xc00, 0xc02, 0x301, 0xf14, 0x180, 0x7ff];

/** FENCE, FENCE.I, ECALL, EBREAK, WFI, MRET, SRET, SFENCE.VMA and two illegal words. */
const SYSTEM = [
  0x0ff0000f,
  0x0000100f,
  0x00000073,
  0x00100073,
  0x10500073,
  0x30200073,
  0x10200073,
  0x12000073,
  0,
  0xffffffff,
];

/** xorshift32: the program and its register values are the same in every process. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** One random instruction (its jumps and branches land mostly inside the code area). */
function randomInsn(next: () => number): number {
  const pick = (n: number) => next() % n;
  const rd = pick(8) === 0 ? 0 : 6 + pick(25);
  const rs = () => pick(4) === 0 ? pick(32) : 6 + pick(25);
  const base = () => pick(16) === 0 ? rs() : [DATA, DATA, DATA_HI, MMIO, CODE][pick(5)];
  const imm = () => (next() & 0xfff) - 0x800;
  const kind = pick(24);
  switch (kind) {
    case 0:
    case 1:
    case 2: { // OP: ADD..AND and the M extension
      const f3 = pick(8);
      const f7 = pick(3) === 0 ? 1 : (f3 === 0 || f3 === 5) && pick(2) === 0 ? 0x20 : 0;
      return enc.r(0x33, f3, f7, rd, rs(), rs());
    }
    case 3:
    case 4:
    case 5: { // OP-IMM
      const f3 = pick(8);
      if (f3 === 1) return enc.i(0x13, 1, rd, rs(), pick(32));
      if (f3 === 5) return enc.i(0x13, 5, rd, rs(), pick(32) | (pick(2) << 10));
      return enc.i(0x13, f3, rd, rs(), imm());
    }
    case 6: // LUI / AUIPC
      return ((next() & 0xfffff000) | (rd << 7) | (pick(2) ? 0x37 : 0x17)) >>> 0;
    case 7:
    case 8: // branches, forwards and backwards, now and then to a misaligned target
      return enc.b(
        [0, 1, 4, 5, 6, 7][pick(6)],
        rs(),
        rs(),
        (pick(64) - 24) * 4 + (pick(16) ? 0 : 2),
      );
    case 9: // JAL
      return enc.j(pick(2) ? 1 + pick(30) : 0, (pick(128) - 32) * 4 + (pick(16) ? 0 : 2));
    case 10: // JALR through the code pointer
      return enc.i(0x67, 0, rd, pick(32) ? CODE : rs(), (pick(512) - 256) * 4 + (pick(16) ? 0 : 2));
    case 11:
    case 12:
    case 13: // loads
      return enc.i(0x03, [0, 1, 2, 4, 5][pick(5)], rd, base(), pick(2) ? imm() & ~3 : imm());
    case 14:
    case 15: // stores (into code now and then: invalidation)
      return enc.s(pick(3), base(), rs(), pick(2) ? imm() & ~3 : imm());
    case 16: { // LR/SC and the AMOs
      const f5 = [2, 3, 1, 0, 4, 0xc, 8, 0x10, 0x14, 0x18, 0x1c][pick(11)];
      return enc.r(
        0x2f,
        2,
        f5 << 2,
        rd,
        [DATA, DATA, DATA, MMIO, MMIO, DATA_HI, rs()][pick(7)],
        f5 === 2 ? 0 : rs(), // LR.W has no rs2
      );
    }
    case 17:
    case 18: { // CSRs: reads of many, writes of scratch registers, immediates
      const f3 = [1, 2, 3, 5, 6, 7][pick(6)];
      const writes = f3 === 1 || f3 === 5;
      const csr = writes
        ? [0x340, 0x140][pick(2)]
        : pick(2)
        ? SAFE_CSRS[pick(11)]
        : READ_ONLY_CSRS[pick(10)];
      const src = f3 >= 5 ? pick(32) : writes ? rs() : 0;
      return enc.i(0x73, f3, rd, src, csr);
    }
    case 19: // satp rewritten with its own value (TLB and translation-cache flushes)
      return pick(2) ? enc.i(0x73, 1, 0, SATP, 0x180) : 0x12000073; // or SFENCE.VMA
    default: // system: FENCE, FENCE.I, ECALL, EBREAK, WFI, MRET, SRET, illegal
      return SYSTEM[pick(SYSTEM.length)];
  }
}

/** The seed of the warm-up program (fixed: every process warms up the same way). */
const SEED = 0x5eed;

/**
 * The warm-up RAM image for RAM at `base`: the trap handler, random code, random data and the
 * Sv32 root table (leaf entries are written per phase). Exported for tests.
 */
export function warmUpImage(base: number, seed = SEED): Uint32Array {
  const next = rng(seed);
  const words = new Uint32Array(RAM_SIZE / 4);
  // M-mode trap handler: skip the trapping instruction and return.
  words.set([
    enc.i(0x73, 2, SCRATCH, 0, 0x341), // csrr x31, mepc
    enc.i(0x13, 0, SCRATCH, SCRATCH, 4), // addi x31, x31, 4
    enc.i(0x73, 1, 0, SCRATCH, 0x341), // csrw mepc, x31
    0x30200073, // mret
  ]);
  for (let k = PAGE / 4; k < (1 + CODE_PAGES) * PAGE / 4; k++) words[k] = randomInsn(next);
  for (let k = (1 + CODE_PAGES) * PAGE / 4; k < ROOT / 4; k++) words[k] = next();
  // Sv32: RAM mapped at its own address (4 KiB pages), the MMIO page by a 4 MiB megapage.
  words[ROOT / 4 + (base >>> 22)] = pte(base + LEAF, 1);
  words[ROOT / 4 + (MMIO_BASE >>> 22)] = pte(MMIO_BASE, 0xcf);
  return words;
}

const pte = (pa: number, flags: number) => (((pa >>> 12) << 10) | flags) >>> 0;

let warm = false;

/**
 * Runs the warm-up once per process; machines call it before their first run. Returns false
 * (doing nothing) when it ran before. Costs a few ten milliseconds of CPU time at most.
 */
export function warmUpCpu(): boolean {
  if (warm) return false;
  warm = true;
  const ram = new Ram(RAM_SIZE);
  const bus = new Bus(ram);
  const B = ram.base;
  let latch = 0;
  bus.map(MMIO_BASE, PAGE, {
    read: (off) => (off * 0x9e3779b1 + latch) >>> 0 & 0xff,
    write: (_off, _size, v) => {
      latch = v;
    },
  }, "warmup");
  const next = rng(SEED + 1);
  const words = warmUpImage(B);
  const leaf = LEAF / 4;
  ram.write(B, new Uint8Array(words.buffer));
  const satp = (0x8000_0000 | ((B + ROOT) >>> 12)) >>> 0;
  const cpu = new Cpu(bus, { translate: false });
  const s = cpu.state;
  s.pmpaddr[0] = 0xffff_ffff; // one NAPOT rule over everything: S and U may run
  s.pmpcfg[0] = 0x1f;
  const phases: [number, boolean, number][] = [
    [PRV_M, false, 0],
    [PRV_S, false, 0xcf],
    [PRV_U, false, 0xdf],
    [PRV_M, true, 0xcf], // MPRV: M-mode data accesses translated as S
    [PRV_S, true, 0xcf],
  ];
  for (const translate of [false, true]) {
    if (translate) cpu.setTranslate(true, 2);
    for (const [priv, mprv, flags] of phases) {
      for (let p = 0; p < 16; p++) ram.u32[leaf + p] = pte(B + p * PAGE, flags);
      ram.decoded.fill(0);
      cpu.invalidateCaches();
      for (let k = 0; k < SLICES; k++) {
        for (let r = 1; r < 31; r++) s.x[r] = next();
        s.x[DATA] = B + 10 * PAGE, s.x[DATA_HI] = B + 12 * PAGE + 2, s.x[MMIO] = MMIO_BASE + 0x800;
        s.x[CODE] = B + 4 * PAGE, s.x[SATP] = satp;
        s.satp = priv === PRV_M && !mprv ? 0 : satp;
        s.priv = priv;
        s.mtvec = B;
        s.mstatus = mprv ? MSTATUS.MPRV | (PRV_S << 11) : PRV_M << 11;
        s.waiting = 0;
        s.pc = B + PAGE + (next() % (CODE_PAGES * PAGE / 4)) * 4;
        cpu.invalidateCaches();
        if (k === 1) { // a pending, enabled interrupt: taken between blocks
          s.mie = 1 << Irq.MSI;
          s.mstatus |= MSTATUS.MIE;
          cpu.setIrq(Irq.MSI, true);
          cpu.run(50);
          cpu.setIrq(Irq.MSI, false);
          s.mie = 0;
        }
        cpu.run(SLICE);
      }
    }
  }
  cpu.setTranslate(false);
  return true;
}
