# Branches (taken/not taken, signed/unsigned), JAL/JALR link values, JALR clears bit 0.
#include "test.h"
TEST_BEGIN
  li TESTNUM, 2; li a0, -1; li a1, 1; blt a1, a0, fail; bge a0, a1, fail; bltu a0, a1, fail
  li TESTNUM, 3; bgeu a1, a0, fail; beq a0, a1, fail; bne a0, a0, fail
  li TESTNUM, 4; li a2, 0; blt a0, a1, 1f; j fail
1: bltu a1, a0, 1f; j fail
1: bge a1, a0, 1f; j fail
1: bgeu a0, a1, 1f; j fail
1: beq a0, a0, 1f; j fail
1: bne a0, a1, 1f; j fail
1:
  li TESTNUM, 5; jal ra, 2f
1: j fail
2: la t0, 1b; bne ra, t0, fail
  li TESTNUM, 6; la t0, 3f + 1; jalr ra, 0(t0); j fail
3: la t0, 3b - 4; bne ra, t0, fail
  li TESTNUM, 7; la t0, 4f; jalr x0, -8(t0); j fail; j 5f; j fail
4: j fail
5: li TESTNUM, 8; la t0, 6f; jalr t0, 0(t0)
6: la t1, 6b; bne t0, t1, fail   # rd == rs1: target uses the old value
TEST_END
