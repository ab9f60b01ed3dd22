# M extension including the division-by-zero and overflow corner cases.
#include "test.h"
TEST_BEGIN
  TEST(2, a0, 0x00000006, li a1, -2; li a2, -3; mul a0, a1, a2)
  TEST(3, a0, 0x00000000, li a1, -2; li a2, -3; mulh a0, a1, a2)
  TEST(4, a0, 0xfffffffb, li a1, -2; li a2, -3; mulhu a0, a1, a2)
  TEST(5, a0, 0xffffffff, li a1, -2; li a2, 3; mulhsu a0, a1, a2)
  TEST(6, a0, 0x3fffffff, li a1, 0x80000000; li a2, 0x7fffffff; mulhu a0, a1, a2)
  TEST(7, a0, 0xc0000000, li a1, 0x80000000; li a2, 0x7fffffff; mulh a0, a1, a2)
  TEST(8, a0, 0xffffffff, li a1, 7; li a2, 0; div a0, a1, a2)
  TEST(9, a0, 0xffffffff, li a1, 7; li a2, 0; divu a0, a1, a2)
  TEST(10, a0, 7, li a1, 7; li a2, 0; rem a0, a1, a2)
  TEST(11, a0, 7, li a1, 7; li a2, 0; remu a0, a1, a2)
  TEST(12, a0, 0x80000000, li a1, 0x80000000; li a2, -1; div a0, a1, a2)
  TEST(13, a0, 0, li a1, 0x80000000; li a2, -1; rem a0, a1, a2)
  TEST(14, a0, -3, li a1, -7; li a2, 2; div a0, a1, a2)
  TEST(15, a0, -1, li a1, -7; li a2, 2; rem a0, a1, a2)
  TEST(16, a0, 0x7ffffffc, li a1, -7; li a2, 2; divu a0, a1, a2)
  TEST(17, a0, 1, li a1, -7; li a2, 2; remu a0, a1, a2)
TEST_END
