/* snapshell guest runtime: entry point and machine-mode trap vector. */
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrw mie, zero
  csrci mstatus, 8            /* mstatus.MIE = 0 */
.option push
.option norelax
  la gp, __global_pointer$
.option pop
  csrr t0, mhartid
  bnez t0, park               /* only hart 0 runs the guest */
  la sp, __stack_top
  la t0, trap_entry
  csrw mtvec, t0              /* direct mode */
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sw zero, 0(t0)
  addi t0, t0, 4
  j 1b
2:
  call main
  call rt_exit                /* exit with main's return value */
park:
  wfi
  j park

  .text
  .balign 4
  .globl trap_entry
trap_entry:
  addi sp, sp, -80
  sw ra, 0(sp)
  sw t0, 4(sp)
  sw t1, 8(sp)
  sw t2, 12(sp)
  sw a0, 16(sp)
  sw a1, 20(sp)
  sw a2, 24(sp)
  sw a3, 28(sp)
  sw a4, 32(sp)
  sw a5, 36(sp)
  sw a6, 40(sp)
  sw a7, 44(sp)
  sw t3, 48(sp)
  sw t4, 52(sp)
  sw t5, 56(sp)
  sw t6, 60(sp)
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  call rt_trap
  csrw mepc, a0               /* rt_trap returns where to resume */
  lw ra, 0(sp)
  lw t0, 4(sp)
  lw t1, 8(sp)
  lw t2, 12(sp)
  lw a0, 16(sp)
  lw a1, 20(sp)
  lw a2, 24(sp)
  lw a3, 28(sp)
  lw a4, 32(sp)
  lw a5, 36(sp)
  lw a6, 40(sp)
  lw a7, 44(sp)
  lw t3, 48(sp)
  lw t4, 52(sp)
  lw t5, 56(sp)
  lw t6, 60(sp)
  addi sp, sp, 80
  mret
