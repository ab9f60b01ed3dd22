# Integer register-immediate and register-register ops, LUI/AUIPC, x0 writes.
#include "test.h"
TEST_BEGIN
  TEST(2, a0, 0x00000005, li a1, 2; addi a0, a1, 3)
  TEST(3, a0, 0xffffffff, li a1, 0; addi a0, a1, -1)
  TEST(4, a0, 0x80000000, li a1, 0x7fffffff; addi a0, a1, 1)
  TEST(5, a0, 1, li a1, -5; slti a0, a1, 3)
  TEST(6, a0, 0, li a1, -5; sltiu a0, a1, 3)
  TEST(7, a0, 1, li a1, 3; sltiu a0, a1, -1)
  TEST(8, a0, 0xffff0f0f, li a1, 0x0000f0f0; xori a0, a1, -1; li t0, 0; xor a0, a0, t0)
  TEST(9, a0, 0x12345fff, li a1, 0x12345678; ori a0, a1, 0x7ff; ori a0, a0, 0x7ff; li t0, 0x800; or a0, a0, t0)
  TEST(10, a0, 0x00000678, li a1, 0x12345678; andi a0, a1, 0x7ff)
  TEST(11, a0, 0x80000000, li a1, 1; slli a0, a1, 31)
  TEST(12, a0, 0x00000001, li a1, 0x80000000; srli a0, a1, 31)
  TEST(13, a0, 0xffffffff, li a1, 0x80000000; srai a0, a1, 31)
  TEST(14, a0, 0x00000000, li a1, 0x7fffffff; li a2, 0x80000001; add a0, a1, a2)
  TEST(15, a0, 0x80000000, li a1, 0; li a2, 0x80000000; sub a0, a1, a2)
  TEST(16, a0, 0x00000002, li a1, 1; li a2, 33; sll a0, a1, a2)
  TEST(17, a0, 0x40000000, li a1, 0x80000000; li a2, 33; srl a0, a1, a2)
  TEST(18, a0, 0xc0000000, li a1, 0x80000000; li a2, 33; sra a0, a1, a2)
  TEST(19, a0, 1, li a1, -1; li a2, 0; slt a0, a1, a2)
  TEST(20, a0, 0, li a1, -1; li a2, 0; sltu a0, a1, a2)
  TEST(21, a0, 0x0f0f0f00, li a1, 0xff0fff0f; li a2, 0x0f0f0f0f; and a0, a1, a2; li t0, 0xffffff00; and a0, a0, t0)
  TEST(22, a0, 0xfedcb000, lui a0, 0xfedcb)
  TEST(23, x0, 0, li a1, 5; addi x0, a1, 1; add x0, a1, a1; lui x0, 1)
  li TESTNUM, 24
1: auipc a0, 0; la a1, 1b; bne a0, a1, fail
  TEST(25, a0, 0x1000, auipc a0, 1; auipc a1, 0; sub a0, a0, a1; addi a0, a0, 4)
TEST_END
