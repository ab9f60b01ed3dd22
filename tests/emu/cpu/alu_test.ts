import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { div, divu, mulh, mulhsu, mulhu, rem, remu } from "../../../emu/cpu/alu.ts";

const SPECIAL = [0, 1, -1, 2, -2, 0x7fff_ffff, -0x8000_0000, 0xffff, 0x10000, 12345, -98765];

function hi(p: bigint): number {
  return Number(BigInt.asIntN(32, p >> 32n));
}

Deno.test("mulh/mulhu/mulhsu match a BigInt reference", () => {
  const vals = [...SPECIAL];
  for (let k = 0; k < 200; k++) vals.push((Math.random() * 0x1_0000_0000) | 0);
  for (const a of vals) {
    for (const b of SPECIAL) {
      const [sa, sb, ua, ub] = [BigInt(a), BigInt(b), BigInt(a >>> 0), BigInt(b >>> 0)];
      assertEquals(mulh(a, b), hi(sa * sb), `mulh ${a} ${b}`);
      assertEquals(mulhu(a, b), hi(ua * ub), `mulhu ${a} ${b}`);
      assertEquals(mulhsu(a, b), hi(sa * ub), `mulhsu ${a} ${b}`);
    }
  }
});

Deno.test("division follows the spec's table 7.1 corner cases", () => {
  assertEquals([div(7, 0), divu(7, 0), rem(7, 0), remu(7, 0)], [-1, -1, 7, 7]);
  assertEquals([div(-0x8000_0000, -1), rem(-0x8000_0000, -1)], [-0x8000_0000, 0]);
  assertEquals([div(-7, 2), rem(-7, 2), divu(-7, 2), remu(-7, 2)], [-3, -1, 0x7fff_fffc, 1]);
});
