# Supervisor mode: medeleg/mideleg delegation, sret, the sstatus/sie/sip views, U mode
# under S, scounteren, TSR/TW/TVM, delegated software and timer interrupts.
# s2/s4/s6 = scause/stval/sstatus of the last S trap; s3/s5 = mcause/mtval of the last M
# trap. An ecall from S reaches the M-mode "service": mstatus |= a7, &= ~a6; mip |= a5, &= ~a4;
# medeleg |= a1, &= ~a2.
#include "test.h"
TEST_BEGIN
  la t0, mhandler; csrw mtvec, t0
  la t0, shandler; csrw stvec, t0
  li t0, -1; csrw pmpaddr0, t0; li t0, 0x1f; csrw pmpcfg0, t0   # S and U may access all
  li t0, (1 << 2) | (1 << 8); csrw medeleg, t0                 # illegal insn, ecall from U
  li t0, 0x222; csrw mideleg, t0                                # SSI, STI, SEI
  li t0, 7; csrw mcounteren, t0                                 # scounteren stays 0
  li t0, 0x1800; csrc mstatus, t0; li t0, 0x800; csrs mstatus, t0   # MPP = S
  la t0, smode; csrw mepc, t0
  li a1, 0; li a2, 0; li a4, 0; li a5, 0; li a6, 0; li a7, 0
  mret
smode:
  li TESTNUM, 2; li s2, -1
ins2: csrr a0, mstatus                     # M CSR from S: illegal, delegated to S
  CHECK(2, s2, 2)
  la t0, ins2; lw t0, 0(t0); li TESTNUM, 3; bne s4, t0, fail   # stval = instruction
  andi t0, s6, 0x100
  CHECK(4, t0, 0x100)                      # SPP = S
  li s3, -1; ecall                         # not delegated: M, cause 9
  CHECK(5, s3, 9)
  TEST(6, a0, 0x222, li t0, -1; csrw sie, t0; csrr a0, sie)
  li s2, 0; csrsi sip, 2; nop              # SSIP pending, but SIE = 0 in S mode
  CHECK(7, s2, 0)
  csrsi sstatus, 2; nop                    # now taken; the handler masks SSIE
  li t0, 0x80000001; li TESTNUM, 8; bne s2, t0, fail
  csrci sip, 2
  # U mode under S.
  li t0, 0x100; csrc sstatus, t0           # SPP = U
  la t0, umode; csrw sepc, t0
  sret
umode:
  li s2, -1; wfi                           # U mode WFI is illegal when S exists
  CHECK(9, s2, 2)
  li s2, -1; sfence.vma
  CHECK(10, s2, 2)
  li s2, -1; csrr a0, sstatus
  CHECK(11, s2, 2)
  li s2, -1; rdtime a0                     # scounteren.TM = 0
  CHECK(12, s2, 2)
  li s2, -1; ecall                         # delegated: the S handler resumes at back_s
  j fail
back_s:
  CHECK(13, s2, 8)
  csrr t0, sstatus; andi t0, t0, 0x100
  CHECK(14, t0, 0)                         # SPP = U
  li a7, 1 << 22; li a2, 4; ecall; li a7, 0; li a2, 0   # TSR; illegal insn to M (an S
  li s3, -1; sret                          # handler could not sret either)
  CHECK(15, s3, 2)
  li a6, 1 << 22; li a1, 4; ecall; li a6, 0; li a1, 0
  li a7, 1 << 21; ecall; li a7, 0          # TW
  li s2, -1; wfi
  CHECK(16, s2, 2)
  li a7, 1 << 20; ecall; li a7, 0          # TVM
  li s2, -1; csrr a0, satp
  CHECK(17, s2, 2)
  li s2, -1; sfence.vma
  CHECK(18, s2, 2)
  li a6, (1 << 20) | (1 << 21) | (1 << 22); ecall; li a6, 0
  li s2, -1; csrr a0, satp; sfence.vma
  CHECK(19, s2, -1)
  # WFI in S with an enabled interrupt pending but SIE clear returns without a trap.
  csrci sstatus, 2; csrsi sie, 2; csrsi sip, 2; wfi; csrci sip, 2
  CHECK(20, s2, -1)
  # M mode raises STIP (no Sstc); delegated, it reaches S once SIE is set.
  li a5, 0x20; ecall; li a5, 0
  csrr a0, sip
  CHECK(21, a0, 0x20)
  li s2, 0; csrsi sstatus, 2; nop
  li t0, 0x80000005; li TESTNUM, 22; bne s2, t0, fail
  li a4, 0x20; ecall; li a4, 0
  csrr a0, sip
  CHECK(23, a0, 0)
  j pass

.align 2
shandler:
  csrr s2, scause; csrr s4, stval; csrr s6, sstatus
  bltz s2, s_irq
  li t6, 8; beq s2, t6, s_from_u
  csrr t5, sepc; addi t5, t5, 4; csrw sepc, t5
  sret
s_irq:                                     # mask the interrupt in sie and return
  andi t6, s2, 31; li t5, 1; sll t5, t5, t6; csrc sie, t5
  sret
s_from_u:
  la t5, back_s; jr t5

.align 2
mhandler:
  csrr s3, mcause; csrr s5, mtval
  bltz s3, fail
  csrr t5, mepc; addi t5, t5, 4; csrw mepc, t5
  li t6, 9; bne s3, t6, 1f
  csrs mstatus, a7; csrc mstatus, a6; csrs mip, a5; csrc mip, a4; csrs medeleg, a1
  csrc medeleg, a2
1: mret
TEST_END
