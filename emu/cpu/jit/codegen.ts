/**
 * Block translation: turns a run of RV32IM instructions in one RAM page into the JavaScript
 * source of a function that executes them with the interpreter's exact semantics. Only the
 * instructions that cannot trap except through memory are translated (ALU, M, LUI/AUIPC,
 * loads, stores, FENCE, branches and jumps); everything else (CSRs, system instructions, AMOs,
 * FENCE.I, illegal words) ends the block before it and is left to the interpreter, as is every
 * memory access that misses the inline RAM/TLB path (MMIO, faults, misaligned, TLB misses).
 *
 * A block function `(pc, dd, lb, sb, budget)` takes the virtual pc of its first instruction (so the code
 * depends only on the physical words, never on the page it is mapped at), whether data accesses
 * index RAM directly (`dd`) and the load/store TLB banks, and the instructions it may retire
 * (a block that loops onto itself iterates while a whole pass fits); it returns the next pc and leaves the
 * number of instructions it retired in `st[0]`: all of them, or fewer when it stopped before an
 * access it could not do inline (that instruction has not executed) or right after a store into
 * translated code (the rest of the block may be stale).
 *
 * @module
 */

import { decode, Op } from "../decode.ts";

/**
 * Longest block, in instructions. A block also ends at its page's end and after a JAL or JALR;
 * a conditional branch is a side exit (taken: return its target; not taken: go on), so a block
 * spans the straight-line path through several branches.
 */
export const MAX_BLOCK = 128;

/** Source of one translated block, or null when its first instruction is left to the interpreter. */
export interface BlockSource {
  /** Body of the block function. */
  body: string;
  /** Instructions in the block. */
  len: number;
}

const imm12 = (ins: number) => ins >> 20;
const immS = (ins: number) => ((ins >> 25) << 5) | ((ins >>> 7) & 31);
const immB = (ins: number) =>
  ((ins >> 31) << 12) | ((ins << 4) & 0x800) | ((ins >>> 20) & 0x7e0) | ((ins >>> 7) & 0x1e);
const immJ = (ins: number) =>
  ((ins >> 31) << 20) | (ins & 0xff000) | ((ins >>> 9) & 0x800) | ((ins >>> 20) & 0x7fe);

/**
 * Unsigned comparisons compare both sides XOR the sign bit, which stays in int32: `>>> 0` makes
 * doubles of half the values, and V8 throws away optimised code that meets one for the first time.
 */
const SIGN = -0x8000_0000;

/** Stands for the block's length in its source until the length is known. */
const LEN = "@LEN@";

/** Register read: x0 is the literal 0. */
const R = (r: number) => r === 0 ? "0" : `x[${r}]`;

/** True if `op` may appear inside or at the end of a block. */
function translatable(op: number): boolean {
  return op !== 0 && op !== Op.FENCE_I && op < Op.ECALL || op >= Op.MUL && op <= Op.REMU;
}

/**
 * Translates the instructions starting at RAM word `w0` (of `words`, the RAM's word view), up to
 * the end of its 4 KiB page. `base`/`lim` are the RAM's base address and size (baked in).
 */
export function translateBlock(
  words: Int32Array,
  w0: number,
  base: number,
  lim: number,
): BlockSource | null {
  const pageEnd = (w0 | 1023) + 1;
  const out: string[] = [];
  let len = 0;
  let end = false;
  let misaligned = false;
  const exitAt = (j: number) => `{ st[0] = c + ${j}; return (pc + ${4 * j}) | 0; }`;
  const addr = (bank: string) =>
    `off = dd ? (a - ${base | 0}) | 0 : (k = ${bank} + ((a >>> 12) & 255), ` +
    `tlbTag[k] === (a >>> 12) ? (a + tlbAdd[k]) | 0 : -1);`;
  const mark = "dec[off >> 2] = 0; dirty[off >>> 17] |= 1 << ((off >>> 12) & 31);";
  for (let w = w0; w < pageEnd && len < MAX_BLOCK; w++) {
    const ins = words[w];
    const op = decode(ins);
    if (!translatable(op)) break;
    const j = len;
    const rd = (ins >> 7) & 31, rs1 = (ins >> 15) & 31, rs2 = (ins >> 20) & 31;
    const set = (e: string) => rd === 0 ? "" : `x[${rd}] = ${e};`;
    const A = R(rs1), B = R(rs2), I = imm12(ins);
    switch (op) {
      case Op.LUI:
        out.push(set(`${ins & 0xffff_f000 | 0}`));
        break;
      case Op.AUIPC:
        out.push(set(`(pc + ${(4 * j + (ins & 0xffff_f000)) | 0}) | 0`));
        break;
      case Op.JAL: {
        const off = 4 * j + immJ(ins);
        if ((off & 3) !== 0) {
          misaligned = true; // the interpreter traps
          break;
        }
        out.push(set(`(pc + ${4 * j + 4}) | 0`), `c += ${j + 1};`);
        if (off === 0) {
          out.push(`if (c + ${j + 1} <= budget) continue;`, `st[0] = c;`, `return pc;`);
        } else out.push(`st[0] = c;`, `return (pc + ${off}) | 0;`);
        end = true;
        break;
      }
      case Op.JALR:
        out.push(
          `a = (${A} + ${I}) & -2;`,
          `if ((a & 3) !== 0) ${exitAt(j)}`,
          set(`(pc + ${4 * j + 4}) | 0`),
          `st[0] = c + ${j + 1};`,
          `return a;`,
        );
        end = true;
        break;
      case Op.BEQ:
      case Op.BNE:
      case Op.BLT:
      case Op.BGE:
      case Op.BLTU:
      case Op.BGEU: {
        const off = 4 * j + immB(ins);
        if ((off & 3) !== 0) {
          misaligned = true;
          break;
        }
        const cond = op === Op.BEQ
          ? `${A} === ${B}`
          : op === Op.BNE
          ? `${A} !== ${B}`
          : op === Op.BLT
          ? `${A} < ${B}`
          : op === Op.BGE
          ? `${A} >= ${B}`
          : op === Op.BLTU
          ? `(${A} ^ ${SIGN}) < (${B} ^ ${SIGN})`
          : `(${A} ^ ${SIGN}) >= (${B} ^ ${SIGN})`;
        if (off === 0) {
          // A loop onto the block's start: iterate here while a whole pass fits in the budget.
          out.push(
            `if (${cond}) { c += ${j + 1}; if (c + ${LEN} <= budget) continue; ` +
              `st[0] = c; return pc; }`,
          );
        } else out.push(`if (${cond}) { st[0] = c + ${j + 1}; return (pc + ${off}) | 0; }`);
        break; // not taken: the block goes on (a side exit, not an end)
      }
      case Op.LB:
      case Op.LH:
      case Op.LW:
      case Op.LBU:
      case Op.LHU: {
        const align = op === Op.LW ? 3 : op === Op.LH || op === Op.LHU ? 1 : 0;
        const view = op === Op.LW
          ? "m32[off >> 2]"
          : op === Op.LH
          ? "i16[off >> 1]"
          : op === Op.LHU
          ? "u16[off >> 1]"
          : op === Op.LB
          ? "i8[off]"
          : "u8[off]";
        out.push(
          `a = (${A} + ${I}) | 0;`,
          addr("lb"),
          `if (off < 0 || off >= ${lim} || (off & ${align}) !== 0) ${exitAt(j)}`,
          rd === 0 ? `v = ${view};` : set(view),
        );
        break;
      }
      case Op.SB:
      case Op.SH:
      case Op.SW: {
        const align = op === Op.SW ? 3 : op === Op.SH ? 1 : 0;
        const view = op === Op.SW ? "m32[off >> 2]" : op === Op.SH ? "u16[off >> 1]" : "u8[off]";
        out.push(
          `a = (${A} + ${immS(ins)}) | 0;`,
          addr("sb"),
          `if (off < 0 || off >= ${lim} || (off & ${align}) !== 0) ${exitAt(j)}`,
          `${view} = ${B};`,
          mark,
          `if ((code[off >>> 7] & (1 << ((off >>> 2) & 31))) !== 0) ` +
            `{ inv(off); st[0] = c + ${j + 1}; return (pc + ${4 * j + 4}) | 0; }`,
        );
        break;
      }
      case Op.ADDI:
        out.push(set(`${A} + ${I}`));
        break;
      case Op.SLTI:
        out.push(set(`${A} < ${I} ? 1 : 0`));
        break;
      case Op.SLTIU:
        out.push(set(`(${A} ^ ${SIGN}) < ${I ^ SIGN} ? 1 : 0`));
        break;
      case Op.XORI:
        out.push(set(`${A} ^ ${I}`));
        break;
      case Op.ORI:
        out.push(set(`${A} | ${I}`));
        break;
      case Op.ANDI:
        out.push(set(`${A} & ${I}`));
        break;
      case Op.SLLI:
        out.push(set(`${A} << ${I & 31}`));
        break;
      case Op.SRLI:
        out.push(set(`${A} >>> ${I & 31}`));
        break;
      case Op.SRAI:
        out.push(set(`${A} >> ${I & 31}`));
        break;
      case Op.ADD:
        out.push(set(`${A} + ${B}`));
        break;
      case Op.SUB:
        out.push(set(`${A} - ${B}`));
        break;
      case Op.SLL:
        out.push(set(`${A} << ${B}`));
        break;
      case Op.SLT:
        out.push(set(`${A} < ${B} ? 1 : 0`));
        break;
      case Op.SLTU:
        out.push(set(`(${A} ^ ${SIGN}) < (${B} ^ ${SIGN}) ? 1 : 0`));
        break;
      case Op.XOR:
        out.push(set(`${A} ^ ${B}`));
        break;
      case Op.SRL:
        out.push(set(`${A} >>> ${B}`));
        break;
      case Op.SRA:
        out.push(set(`${A} >> ${B}`));
        break;
      case Op.OR:
        out.push(set(`${A} | ${B}`));
        break;
      case Op.AND:
        out.push(set(`${A} & ${B}`));
        break;
      case Op.FENCE:
        break;
      case Op.MUL:
        out.push(set(`Math.imul(${A}, ${B})`));
        break;
      case Op.MULH:
        out.push(set(`mulh(${A}, ${B})`));
        break;
      case Op.MULHSU:
        out.push(set(`mulhsu(${A}, ${B})`));
        break;
      case Op.MULHU:
        out.push(set(`mulhu(${A}, ${B})`));
        break;
      case Op.DIV:
        out.push(set(`div(${A}, ${B})`));
        break;
      case Op.DIVU:
        out.push(set(`divu(${A}, ${B})`));
        break;
      case Op.REM:
        out.push(set(`rem(${A}, ${B})`));
        break;
      case Op.REMU:
        out.push(set(`remu(${A}, ${B})`));
        break;
    }
    if (misaligned) break; // left to the interpreter
    len++;
    if (end) break;
  }
  if (len === 0) return null;
  if (!end) out.push(`st[0] = c + ${len};`, `return (pc + ${4 * len}) | 0;`);
  const body = "let a = 0, off = 0, k = 0, v = 0, c = 0;\nfor (;;) {\n" +
    out.join("\n").replaceAll(LEN, `${len}`) + "\n}";
  return { body, len };
}
