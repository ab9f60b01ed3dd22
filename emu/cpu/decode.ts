/**
 * Decoder: maps a 32-bit instruction to a small operation number, cached per
 * RAM word by the CPU so the hot loop dispatches with one switch. Operand
 * fields are re-extracted from the raw bits with shifts (cheaper than caching).
 *
 * The run loop's `switch` uses these numbers as literals (V8 builds a jump
 * table only for literal cases); `decode_test.ts` checks both stay in sync.
 *
 * @module
 */

/** Operation numbers; 0 means "not decoded yet" in the cache. */
export const Op = {
  LUI: 1,
  AUIPC: 2,
  JAL: 3,
  JALR: 4,
  BEQ: 5,
  BNE: 6,
  BLT: 7,
  BGE: 8,
  BLTU: 9,
  BGEU: 10,
  LB: 11,
  LH: 12,
  LW: 13,
  LBU: 14,
  LHU: 15,
  SB: 16,
  SH: 17,
  SW: 18,
  ADDI: 19,
  SLTI: 20,
  SLTIU: 21,
  XORI: 22,
  ORI: 23,
  ANDI: 24,
  SLLI: 25,
  SRLI: 26,
  SRAI: 27,
  ADD: 28,
  SUB: 29,
  SLL: 30,
  SLT: 31,
  SLTU: 32,
  XOR: 33,
  SRL: 34,
  SRA: 35,
  OR: 36,
  AND: 37,
  FENCE: 38,
  FENCE_I: 39,
  ECALL: 40,
  EBREAK: 41,
  MRET: 42,
  WFI: 43,
  CSRRW: 44,
  CSRRS: 45,
  CSRRC: 46,
  CSRRWI: 47,
  CSRRSI: 48,
  CSRRCI: 49,
  MUL: 50,
  MULH: 51,
  MULHSU: 52,
  MULHU: 53,
  DIV: 54,
  DIVU: 55,
  REM: 56,
  REMU: 57,
  LR_W: 58,
  SC_W: 59,
  AMOSWAP_W: 60,
  AMOADD_W: 61,
  AMOXOR_W: 62,
  AMOAND_W: 63,
  AMOOR_W: 64,
  AMOMIN_W: 65,
  AMOMAX_W: 66,
  AMOMINU_W: 67,
  AMOMAXU_W: 68,
  ILLEGAL: 69,
  SRET: 70,
  SFENCE_VMA: 71,
} as const;

/** An operation number from {@link Op}. */
export type OpCode = typeof Op[keyof typeof Op];

/** Mnemonic for each op number (index = op), for traces and tests. */
export const OP_NAMES: readonly string[] = (() => {
  const names: string[] = ["(undecoded)"];
  for (const [k, v] of Object.entries(Op)) names[v] = k.toLowerCase().replace("_", ".");
  return names;
})();

const BRANCH: readonly OpCode[] = [
  Op.BEQ,
  Op.BNE,
  Op.ILLEGAL,
  Op.ILLEGAL,
  Op.BLT,
  Op.BGE,
  Op.BLTU,
  Op.BGEU,
];
const LOAD: readonly OpCode[] = [
  Op.LB,
  Op.LH,
  Op.LW,
  Op.ILLEGAL,
  Op.LBU,
  Op.LHU,
  Op.ILLEGAL,
  Op.ILLEGAL,
];
const STORE: readonly OpCode[] = [Op.SB, Op.SH, Op.SW];
const OPIMM: readonly OpCode[] = [
  Op.ADDI,
  Op.SLLI,
  Op.SLTI,
  Op.SLTIU,
  Op.XORI,
  Op.SRLI,
  Op.ORI,
  Op.ANDI,
];
const OPREG: readonly OpCode[] = [Op.ADD, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.OR, Op.AND];
const MULDIV: readonly OpCode[] = [
  Op.MUL,
  Op.MULH,
  Op.MULHSU,
  Op.MULHU,
  Op.DIV,
  Op.DIVU,
  Op.REM,
  Op.REMU,
];
const CSROPS: readonly OpCode[] = [
  Op.ILLEGAL,
  Op.CSRRW,
  Op.CSRRS,
  Op.CSRRC,
  Op.ILLEGAL,
  Op.CSRRWI,
  Op.CSRRSI,
  Op.CSRRCI,
];
const AMO: Readonly<Record<number, OpCode>> = {
  0x00: Op.AMOADD_W,
  0x01: Op.AMOSWAP_W,
  0x02: Op.LR_W,
  0x03: Op.SC_W,
  0x04: Op.AMOXOR_W,
  0x08: Op.AMOOR_W,
  0x0c: Op.AMOAND_W,
  0x10: Op.AMOMIN_W,
  0x14: Op.AMOMAX_W,
  0x18: Op.AMOMINU_W,
  0x1c: Op.AMOMAXU_W,
};

/** Decodes RV32IMA + Zicsr + Zifencei + M/S-mode system instructions; unknown bits give ILLEGAL. */
export function decode(ins: number): OpCode {
  const f3 = (ins >>> 12) & 7;
  const f7 = ins >>> 25;
  switch (ins & 0x7f) {
    case 0x37: // LUI
      return Op.LUI;
    case 0x17: // AUIPC
      return Op.AUIPC;
    case 0x6f: // JAL
      return Op.JAL;
    case 0x67: // JALR
      return f3 === 0 ? Op.JALR : Op.ILLEGAL;
    case 0x63: // BRANCH
      return BRANCH[f3];
    case 0x03: // LOAD
      return LOAD[f3];
    case 0x23: // STORE
      return f3 < 3 ? STORE[f3] : Op.ILLEGAL;
    case 0x13: // OP-IMM
      if (f3 === 1) return f7 === 0 ? Op.SLLI : Op.ILLEGAL;
      if (f3 === 5) return f7 === 0 ? Op.SRLI : f7 === 0x20 ? Op.SRAI : Op.ILLEGAL;
      return OPIMM[f3];
    case 0x33: // OP
      if (f7 === 0) return OPREG[f3];
      if (f7 === 1) return MULDIV[f3];
      if (f7 === 0x20) return f3 === 0 ? Op.SUB : f3 === 5 ? Op.SRA : Op.ILLEGAL;
      return Op.ILLEGAL;
    case 0x0f: // MISC-MEM
      // FENCE ignores its unused fields (fm/rs1/rd reserved "for future use", treated as normal fence).
      if (f3 === 0) return Op.FENCE;
      return f3 === 1 ? Op.FENCE_I : Op.ILLEGAL;
    case 0x73: // SYSTEM
      if (f3 !== 0) return CSROPS[f3];
      // SFENCE.VMA rs1, rs2: funct7 0001001, rd = 0.
      if ((ins >>> 25) === 0x09 && (ins & 0xf80) === 0) return Op.SFENCE_VMA;
      if ((ins & 0x000f_8f80) !== 0) return Op.ILLEGAL; // rs1, rd must be zero
      switch (ins >>> 20) {
        case 0x000:
          return Op.ECALL;
        case 0x001:
          return Op.EBREAK;
        case 0x102:
          return Op.SRET;
        case 0x302:
          return Op.MRET;
        case 0x105:
          return Op.WFI;
      }
      return Op.ILLEGAL;
    case 0x2f: // AMO
      if (f3 !== 2) return Op.ILLEGAL;
      if ((f7 >>> 2) === 0x02 && ((ins >>> 20) & 31) !== 0) return Op.ILLEGAL; // LR: rs2 must be 0
      return AMO[f7 >>> 2] ?? Op.ILLEGAL;
  }
  return Op.ILLEGAL;
}
