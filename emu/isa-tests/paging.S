# Sv32 paging: A/D bits set by the hart (QEMU 7.2), page faults with stval, R/W/X/U checks,
# SUM, MXR, reserved encodings, misaligned superpages, U mode code, MPRV from M mode and
# sfence.vma. Code runs in S mode through an identity 4 MiB superpage at 0x80000000.
# s2/s4 = scause/stval of the last S trap (s7 = the scause before it).
#include "test.h"

#define VA 0x40000000
#define PTE(reg, flags) srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
#define V 1
#define R 2
#define W 4
#define X 8
#define U 16
#define A 64
#define D 128

TEST_BEGIN
  la t0, mhandler; csrw mtvec, t0
  la t0, shandler; csrw stvec, t0
  li t0, -1; csrw pmpaddr0, t0; li t0, 0x1f; csrw pmpcfg0, t0
  li t0, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15); csrw medeleg, t0
  # Page tables: root[0x200] identity superpage, root[0x100] -> l0, root[0x101] a
  # superpage whose PPN is not 4 MiB aligned, l0[0..6] the test pages.
  la s0, root; la s1, l0
  li t0, 0x80000000; PTE(t0, V | R | W | X | A | D); li t1, 0x800; add t1, s0, t1; sw t0, 0(t1)
  mv t0, s1; PTE(t0, V); sw t0, 0x400(s0)
  li t0, 0x80001000; PTE(t0, V | R | A); sw t0, 0x404(s0)
  la t0, page; PTE(t0, V | R | W); sw t0, 0(s1)          # VA+0x0000: RW, A=D=0
  la t0, page; PTE(t0, V | R | A); sw t0, 4(s1)          # VA+0x1000: read-only
  la t0, page; PTE(t0, V | R | W | U | A | D); sw t0, 8(s1)   # VA+0x2000: user data
  la t0, page; PTE(t0, V | X | A); sw t0, 12(s1)         # VA+0x3000: execute-only
  sw zero, 16(s1)                                        # VA+0x4000: invalid
  la t0, ucode; PTE(t0, V | X | U | A); sw t0, 20(s1)    # VA+0x5000: user code
  la t0, page; PTE(t0, V | W | A | D); sw t0, 24(s1)     # VA+0x6000: reserved W-only
  la t0, page; li t1, 0x5a5a0001; sw t1, 0(t0)
  srli t0, s0, 12; li t1, 0x80000000; or t0, t0, t1; csrw satp, t0
  li t0, 0x1800; csrc mstatus, t0; li t0, 0x800; csrs mstatus, t0   # MPP = S
  la t0, smode; csrw mepc, t0
  mret
smode:
  li s8, VA
  TEST(2, a0, 0x5a5a0001, lw a0, 0(s8))
  lw t0, 0(s1); andi t0, t0, A | D
  CHECK(3, t0, A)                                        # a load sets A only
  li t1, 0x77; sw t1, 0(s8)
  lw t0, 0(s1); andi t0, t0, A | D
  CHECK(4, t0, A | D)                                    # a store sets D
  la t0, page; lw a0, 0(t0)
  CHECK(5, a0, 0x77)
  li s2, -1; li t1, 1; li t3, VA + 0x1000; sw t1, 0(t3)                 # read-only page
  CHECK(6, s2, 15)
  li t0, VA + 0x1000; li TESTNUM, 7; bne s4, t0, fail
  li s2, -1; li t3, VA + 0x2004; lw a0, 0(t3)                           # U page from S without SUM
  CHECK(8, s2, 13)
  li t0, VA + 0x2004; li TESTNUM, 9; bne s4, t0, fail
  li t0, 1 << 18; csrs sstatus, t0; li s2, -1; li t3, VA + 0x2000; lw a0, 0(t3); csrc sstatus, t0
  CHECK(10, s2, -1)
  CHECK(11, a0, 0x77)
  li s2, -1; li t3, VA + 0x3000; lw a0, 0(t3)                           # execute-only, MXR = 0
  CHECK(12, s2, 13)
  li t0, 1 << 19; csrs sstatus, t0; li s2, -1; li t3, VA + 0x3000; lw a0, 0(t3); csrc sstatus, t0
  CHECK(13, s2, -1)
  li s2, -1; li t3, VA + 0x4008; lw a0, 0(t3)                           # invalid PTE
  CHECK(14, s2, 13)
  li t0, VA + 0x4008; li TESTNUM, 15; bne s4, t0, fail
  li s2, -1; li t0, VA + 0x400000; lw a0, 0(t0)          # misaligned superpage
  CHECK(16, s2, 13)
  li s2, -1; li t3, VA + 0x6000; lw a0, 0(t3)                           # reserved W-only leaf
  CHECK(17, s2, 13)
  li s2, -1; li t0, VA + 0x4000; jalr ra, 0(t0)          # fetch from an invalid page
  CHECK(18, s2, 12)
  li t0, VA + 0x4000; li TESTNUM, 19; bne s4, t0, fail
  li s2, -1; li t0, VA + 0x5000; jalr ra, 0(t0)          # S may not execute U pages
  CHECK(20, s2, 12)
  # U mode code at VA+0x5000: a load of an S page faults, then ecall.
  li a0, 0x80000000
  li t0, 0x100; csrc sstatus, t0
  li t0, VA + 0x5000; csrw sepc, t0
  li s2, 0; sret
back_s:
  CHECK(21, s2, 8)
  CHECK(22, s7, 13)
  # Map the invalid page, sfence.vma, and it works.
  la t0, page; PTE(t0, V | R | A); sw t0, 16(s1); sfence.vma
  li s2, -1; li t3, VA + 0x4000; lw a0, 0(t3)
  CHECK(23, s2, -1)
  CHECK(24, a0, 0x77)
  # M mode with MPRV and MPP = S translates its loads (ecall: not delegated, M continues).
  la a3, mcode; ecall
mcode:
  li t0, 1 << 17; csrs mstatus, t0; lw a0, 0(s8); csrc mstatus, t0
  CHECK(25, a0, 0x77)
  la t0, 1f; csrw mtvec, t0; j 2f
.align 2
1: csrr s3, mcause; la t0, 3f; csrw mepc, t0; mret
2: li s3, -1; lw a1, 0(s8)
3: CHECK(26, s3, 5)                                      # no RAM at 0x40000000 untranslated
  j pass

.align 2
shandler:
  mv s7, s2; csrr s2, scause; csrr s4, stval
  li t6, 8; beq s2, t6, s_from_u
  li t6, 12; beq s2, t6, s_fetch
  csrr t5, sepc; addi t5, t5, 4; csrw sepc, t5
  sret
s_fetch:
  csrw sepc, ra; sret
s_from_u:
  la t5, back_s; jr t5

.align 2
mhandler:                                                # ecall from S: go on in M at a3
  csrr s3, mcause
  li t6, 9; bne s3, t6, fail
  jr a3

.align 12
ucode:
  lw t1, 0(a0)
  ecall
  j ucode
TEST_END
.data
.align 12
root: .space 4096
l0: .space 4096
page: .space 4096
