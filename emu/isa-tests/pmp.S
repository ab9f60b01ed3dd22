# PMP (QEMU 7.2 rules): MRET below M with no rule is illegal; NA4, NAPOT and TOR ranges in
# priority order; an access partly inside an entry fails; no X means instruction access
# faults; a locked entry binds M mode too and ignores writes to its cfg and address.
# Access faults are not delegated: s3/s5 = mcause/mtval of the last M trap. An ecall from
# S continues in M mode at a3.
#include "test.h"
TEST_BEGIN
  la t0, mhandler; csrw mtvec, t0
  # No PMP rule yet: MRET to S is illegal (QEMU 7.2).
  li t0, 0x1800; csrc mstatus, t0; li t0, 0x800; csrs mstatus, t0   # MPP = S
  la t0, fail; csrw mepc, t0
  li s3, -1; mret
  CHECK(2, s3, 2)
  # entry 0: NA4 at page+0, R.   entry 1: NAPOT page+0x800 (2 KiB), no access.
  # entry 2: OFF, address = page (TOR base).  entry 3: TOR up to page+0x800, RW.
  # entry 4: NAPOT over all memory, RWX.
  la s0, page
  srli t0, s0, 2; csrw pmpaddr0, t0; csrw pmpaddr2, t0
  li t1, 0x800; add t1, s0, t1; srli t0, t1, 2; ori t0, t0, 0xff; csrw pmpaddr1, t0
  srli t0, t1, 2; csrw pmpaddr3, t0
  li t0, -1; csrw pmpaddr4, t0
  li t0, 0x0b001811; csrw pmpcfg0, t0      # cfg3..0 = TOR|RW, OFF, NAPOT, NA4|R
  li t0, 0x1f; csrw pmpcfg1, t0            # cfg4 = NAPOT|RWX
  TEST(3, a0, 0x0b001811, csrr a0, pmpcfg0)
  li t0, 0x1800; csrc mstatus, t0; li t0, 0x800; csrs mstatus, t0
  la t0, smode; csrw mepc, t0
  mret
smode:
  li s3, -1; lw a0, 0(s0)                  # NA4, R
  CHECK(4, s3, -1)
  li s3, -1; sw zero, 0(s0)
  CHECK(5, s3, 7)
  li TESTNUM, 6; bne s5, s0, fail          # mtval = address
  li s3, -1; li t1, 0x1234; sw t1, 4(s0); lw a0, 4(s0)   # TOR, RW
  CHECK(7, s3, -1)
  CHECK(8, a0, 0x1234)
  li s3, -1; li t0, 0x800; add t0, s0, t0; lw a0, 0(t0)  # NAPOT, no access
  CHECK(9, s3, 5)
  li s3, -1; li t0, 0x7fe; add t0, s0, t0; lw a0, 0(t0)  # straddles TOR and NAPOT
  CHECK(10, s3, 5)
  li TESTNUM, 11; bne s5, t0, fail
  li s3, -1; addi t0, s0, 8; jalr ra, 0(t0)             # TOR has no X
  CHECK(12, s3, 1)
  li s3, -1; li t0, 0x1000; add t0, s0, t0; sw zero, 0(t0)   # next page: entry 4
  CHECK(13, s3, -1)
  la a3, mcode; ecall
mcode:
  # M mode ignores unlocked entries; locking entry 1 makes it bind M mode as well.
  li t0, 0x800; add s1, s0, t0
  li s3, -1; lw a0, 0(s1)
  CHECK(14, s3, -1)
  li t0, 0x8000; csrs pmpcfg0, t0          # L on entry 1
  li s3, -1; lw a0, 0(s1)
  CHECK(15, s3, 5)
  li t0, 0xff00; csrc pmpcfg0, t0          # ignored for entry 1
  csrr a0, pmpcfg0; li t0, 0xff00; and a0, a0, t0
  CHECK(16, a0, 0x9800)
  csrr s4, pmpaddr1; csrw pmpaddr1, zero; csrr a0, pmpaddr1
  li TESTNUM, 17; bne a0, s4, fail
  j pass

.align 2
mhandler:
  csrr s3, mcause; csrr s5, mtval
  li t6, 9; bne s3, t6, 1f
  jr a3                                    # ecall from S: go on in M mode
1: li t6, 1; bne s3, t6, 2f
  csrw mepc, ra; mret                      # instruction fault: return to the caller
2: csrr t5, mepc; addi t5, t5, 4; csrw mepc, t5
  mret
TEST_END
.data
.align 12
page: .space 8192
