/**
 * Arithmetic helpers the run loop calls for the rarer M and A operations
 * (RISC-V unprivileged spec chapters 7 and 8). All take and return int32 bit
 * patterns.
 *
 * @module
 */

import { Op } from "./decode.ts";

/** High 32 bits of the unsigned 64-bit product (MULHU), computed exactly in 16-bit limbs. */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const lo = a0 * b0;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  const carry = ((lo >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + carry) | 0;
}

/** High 32 bits of the signed x signed product (MULH). */
export function mulh(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/** High 32 bits of the signed x unsigned product (MULHSU; `b` is unsigned). */
export function mulhsu(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b : 0)) | 0;
}

/** DIV with the spec's corner cases: x/0 = -1, INT_MIN/-1 = INT_MIN (table 7.1). */
export function div(a: number, b: number): number {
  if (b === 0) return -1;
  if (a === -0x8000_0000 && b === -1) return a;
  return (a / b) | 0;
}

/** DIVU: x/0 = 2^32-1. */
export function divu(a: number, b: number): number {
  if (b === 0) return -1;
  return ((a >>> 0) / (b >>> 0)) | 0;
}

/** REM: x%0 = x, INT_MIN%-1 = 0. */
export function rem(a: number, b: number): number {
  if (b === 0) return a;
  if (a === -0x8000_0000 && b === -1) return 0;
  return (a % b) | 0;
}

/** REMU: x%0 = x. */
export function remu(a: number, b: number): number {
  if (b === 0) return a;
  return ((a >>> 0) % (b >>> 0)) | 0;
}

/** New memory value of an AMO read-modify-write (`old` from memory, `src` from rs2). */
export function amoResult(op: number, old: number, src: number): number {
  switch (op) {
    case Op.AMOSWAP_W:
      return src;
    case Op.AMOADD_W:
      return (old + src) | 0;
    case Op.AMOXOR_W:
      return old ^ src;
    case Op.AMOAND_W:
      return old & src;
    case Op.AMOOR_W:
      return old | src;
    case Op.AMOMIN_W:
      return old < src ? old : src;
    case Op.AMOMAX_W:
      return old > src ? old : src;
    case Op.AMOMINU_W:
      return (old >>> 0) < (src >>> 0) ? old : src;
    default: // AMOMAXU_W
      return (old >>> 0) > (src >>> 0) ? old : src;
  }
}
