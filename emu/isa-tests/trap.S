# Traps: ECALL/EBREAK causes, illegal instruction mtval, misaligned jump target,
# MRET to U mode, U-mode CSR access faults, counters gated by mcounteren, ECALL from U.
#include "test.h"
TEST_BEGIN
  la t0, handler; csrw mtvec, t0
  TEST(2, s2, 11, ecall)
  TEST(3, s2, 3, ebreak)
  li TESTNUM, 4
bad: .word 0xffffffff
  CHECK(4, s2, 2)
  la t0, bad; lw t0, 0(t0); bne s4, t0, fail
  # Misaligned jump: mepc is the jump, mtval the target, cause 0.
  li TESTNUM, 5; la t1, 1f + 2
jmp: jr t1
1: CHECK(5, s2, 0)
  la t0, 1b + 2; bne s4, t0, fail
  # Enter U mode. PMP entry 0 grants U everything (QEMU refuses MRET to U with no PMP rules).
  li t0, -1; csrw pmpaddr0, t0; li t0, 0x1f; csrw pmpcfg0, t0
  li t0, 0x1800; csrc mstatus, t0     # MPP = U
  li t0, 1; csrw mcounteren, t0       # U may read cycle only (S exists: scounteren too)
  csrw scounteren, t0
  la t0, umode; csrw mepc, t0
  li TESTNUM, 6; mret
umode:
  li s2, -1; csrr a0, mscratch        # M CSR from U: illegal
  CHECK(6, s2, 2)
  li s2, -1; rdcycle a0
  CHECK(7, s2, -1)
  li s2, -1; rdinstret a0             # not enabled in mcounteren
  CHECK(8, s2, 2)
  li s2, -1; mret                     # MRET from U: illegal
  CHECK(9, s2, 2)
  li s2, -1; ecall                    # cause 8, handler returns to M mode at `back`
  j fail
back:
  CHECK(10, s2, 8)
  csrr a0, mstatus; li t0, 0x1800; and a0, a0, t0
  CHECK(11, a0, 0)                    # MPP was U
  j pass
.align 2
handler:
  csrr s2, mcause; csrr s4, mtval; csrr t5, mepc
  li t6, 8; beq s2, t6, from_u
  addi t5, t5, 4
  li t6, 0; bne s2, t6, 1f
  la t5, jmp + 4                      # misaligned jump: resume after the jump
1: csrw mepc, t5; mret
from_u:
  la t5, back; jr t5
TEST_END
