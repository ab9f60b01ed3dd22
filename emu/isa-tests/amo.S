# A extension: every AMO, LR/SC success and failure, misaligned AMO/LR traps (cause 4, as QEMU 7.2).
#include "test.h"
TEST_BEGIN
  la s0, word
  TEST(2, a0, 5, li t0, 5; sw t0, 0(s0); li t1, 3; amoadd.w a0, t1, (s0))
  TEST(3, a0, 8, lw a0, 0(s0))
  TEST(4, a0, 8, li t1, 0xc; amoswap.w a0, t1, (s0))
  TEST(5, a0, 0xc, li t1, 0xa; amoand.w a0, t1, (s0); lw a0, 0(s0); li t0, 8; bne a0, t0, fail; li a0, 0xc)
  TEST(6, a0, 0x8, li t1, 0x3; amoor.w a0, t1, (s0))
  TEST(7, a0, 0xb, li t1, 0x1; amoxor.w a0, t1, (s0); lw a0, 0(s0); addi a0, a0, 1)
  TEST(8, a0, -1, li t1, -1; amomin.w x0, t1, (s0); lw a0, 0(s0))
  TEST(9, a0, 1, li t1, 1; amomax.w x0, t1, (s0); lw a0, 0(s0))
  TEST(10, a0, 1, li t1, -1; amominu.w x0, t1, (s0); lw a0, 0(s0))
  TEST(11, a0, -1, li t1, -1; amomaxu.w x0, t1, (s0); lw a0, 0(s0))
  TEST(12, a0, 0, lr.w a1, (s0); li t1, 42; sc.w a0, t1, (s0))
  TEST(13, a0, 42, lw a0, 0(s0))
  TEST(14, a0, 1, li t1, 43; sc.w a0, t1, (s0))
  TEST(15, a0, 1, lr.w a1, (s0); addi t2, s0, 4; sc.w a0, t1, (t2))
  TEST(16, a0, 42, lw a0, 0(s0))
  # Misaligned: install a handler that records mcause/mtval and skips the instruction.
  la t0, skip_trap; csrw mtvec, t0
  # QEMU 7.2 on one hart does an AMO as a load then a store: a misaligned one faults as a load.
  TEST(17, a0, 4, li a0, -1; addi t2, s0, 2; amoadd.w x0, t1, (t2); mv a0, s2)
  CHECK(18, s3, 0)                    # mtval = the misaligned address
  TEST(20, a0, 4, li s2, -1; lr.w x0, (t2); mv a0, s2)
  # An SC without the reservation fails before touching memory: no trap, even misaligned.
  TEST(21, a0, -1, li s2, -1; sc.w t3, t1, (t2); mv a0, s2)
  CHECK(22, t3, 1)
  j pass
.align 2
skip_trap:
  csrr s2, mcause; csrr s3, mtval; sub s3, s3, t2; csrr t5, mepc; addi t5, t5, 4; csrw mepc, t5; mret
TEST_END
.data
.align 4
word: .word 0, 0
