# Loads/stores of every width, sign extension, and misaligned accesses (no trap, byte-wise).
#include "test.h"
TEST_BEGIN
  la s0, buf
  TEST(2, a0, 0xffffff80, li t0, 0x80; sb t0, 0(s0); lb a0, 0(s0))
  TEST(3, a0, 0x00000080, lbu a0, 0(s0))
  TEST(4, a0, 0xffff8001, li t0, 0x8001; sh t0, 2(s0); lh a0, 2(s0))
  TEST(5, a0, 0x00008001, lhu a0, 2(s0))
  TEST(6, a0, 0x80010080, lw a0, 0(s0))
  TEST(7, a0, 0x12345678, li t0, 0x12345678; sw t0, 4(s0); lw a0, 4(s0))
  TEST(8, a0, 0x56788001, lw a0, 2(s0))
  TEST(9, a0, 0x00007880, lhu a0, 3(s0))
  TEST(10, a0, 0xdeadbeef, li t0, 0xdeadbeef; sw t0, 9(s0); lw a0, 9(s0))
  TEST(11, a0, 0xadbeef00, lw a0, 8(s0); li t0, 0xff; and t1, a0, t0; bnez t1, fail; lw a0, 8(s0))
  TEST(12, a0, 0xffffbeef, li t0, 0xbeef; sh t0, 13(s0); lh a0, 13(s0))
  TEST(13, a0, 0x1234, li t0, 0x1234; sw t0, -4(s0); lw a0, -4(s0))
TEST_END
.data
.word 0
buf: .space 64
