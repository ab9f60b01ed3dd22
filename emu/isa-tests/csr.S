# Zicsr: read/modify/write forms, read-only and missing CSRs trap with mtval = instruction,
# counters count, misa/mhartid values, mtvec WARL.
#include "test.h"
TEST_BEGIN
  TEST(2, a0, 0x1234, li t0, 0x1234; csrw mscratch, t0; csrr a0, mscratch)
  TEST(3, a0, 0x1234, li t0, 0xf; csrrs a0, mscratch, t0)
  TEST(4, a0, 0x1230, csrrci a0, mscratch, 0xf; csrr a0, mscratch)
  TEST(5, a0, 0x1230, csrrwi a0, mscratch, 7)
  TEST(6, a0, 7, csrrsi a0, mscratch, 0; csrr a0, mscratch)
  TEST(7, a0, 0x40141101, csrr a0, misa)
  TEST(8, a0, 0, csrr a0, mhartid)
  TEST(9, a0, 1, rdinstret a1; nop; rdinstret a2; sub a0, a2, a1; addi a0, a0, -1)
  TEST(10, a0, 1, rdcycle a1; rdcycle a2; sub a0, a2, a1)
  # mie keeps QEMU 7.2's writable set: M, S, VS interrupts and LCOFI (0x2eee).
  TEST(11, a0, 0x2eee, li t0, -1; csrw mie, t0; csrr a0, mie; csrw mie, zero)
  # mtvec with reserved mode 2 is ignored; mode 1 sticks.
  TEST(12, a0, 1, csrr s1, mtvec; li t0, 0x80000102; csrw mtvec, t0; csrr a0, mtvec; bne a0, s1, fail; li t0, 0x80000101; csrw mtvec, t0; csrr a0, mtvec; andi a0, a0, 3; csrw mtvec, s1)
  # Illegal: write to read-only mhartid, and a missing CSR; mtval = instruction bits.
  la t0, skip_trap; csrw mtvec, t0
  li s2, 0
bad1: csrw mhartid, zero
  CHECK(13, s2, 2)
  la t0, bad1; lw t0, 0(t0); bne s4, t0, fail
  li s2, 0
bad2: csrr a0, 0x7c0
  CHECK(14, s2, 2)
  # csrr of a read-only CSR is fine (rs1 = x0 means no write).
  TEST(15, s2, 0, li s2, 0; csrr a0, mvendorid; csrs mhartid, zero)
  j pass
.align 2
skip_trap:
  csrr s2, mcause; csrr s4, mtval; csrr t5, mepc; addi t5, t5, 4; csrw mepc, t5; mret
TEST_END
