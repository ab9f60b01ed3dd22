import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decode, Op, OP_NAMES } from "../../../emu/cpu/decode.ts";

Deno.test("decode() recognises one encoding of each op and rejects reserved bits", () => {
  assertEquals(decode(0x00000013), Op.ADDI);
  assertEquals(decode(0x02a787b3), Op.MUL);
  assertEquals(decode(0x40b50533), Op.SUB);
  assertEquals(decode(0x10500073), Op.WFI);
  assertEquals(decode(0x30200073), Op.MRET);
  assertEquals(decode(0x0000100f), Op.FENCE_I);
  assertEquals(decode(0x1005a52f), Op.LR_W);
  assertEquals(decode(0x1015a52f), Op.ILLEGAL); // LR with rs2 != 0
  assertEquals(decode(0x0000302f), Op.ILLEGAL); // AMO .D on RV32
  assertEquals(decode(0x02005013), Op.ILLEGAL); // SRLI with shamt[5] set
  assertEquals(decode(0x10200073), Op.SRET);
  assertEquals(decode(0x12000073), Op.SFENCE_VMA);
  assertEquals(decode(0x12b50073), Op.SFENCE_VMA); // sfence.vma a0, a1
  assertEquals(decode(0x12b500f3), Op.ILLEGAL); // rd != 0
  assertEquals(decode(0x10208073), Op.ILLEGAL); // SRET with rs1 != 0
  assertEquals(decode(0xffffffff), Op.ILLEGAL);
  assertEquals(decode(0), Op.ILLEGAL);
});

Deno.test("the run loop's literal case labels match Op numbers and names", () => {
  const src = Deno.readTextFileSync(new URL("../../../emu/cpu/cpu.ts", import.meta.url));
  const cases = [...src.matchAll(/case (\d+): (?:\{ )?\/\/ ([A-Z.]+)/g)];
  assertEquals(cases.length, Object.keys(Op).length - 1); // ILLEGAL is the default
  for (const [, num, name] of cases) {
    assertEquals(OP_NAMES[Number(num)], name.toLowerCase(), `case ${num}`);
  }
});
