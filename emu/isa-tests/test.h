/*
 * Shared macros for snapshell ISA tests (riscv-tests conventions):
 * TESTNUM lives in gp; PASS writes 1 to tohost, FAIL writes (gp << 1) | 1.
 * A default trap handler fails the test unless a test installs its own.
 */
#define TESTNUM gp

#define TEST_BEGIN \
  .section .text.init; .globl _start; _start: \
  la t0, default_trap; csrw mtvec, t0; li TESTNUM, 0; j test_main; \
  .align 2; default_trap: j fail; \
  .text; test_main:

#define TEST_END \
  pass: fence; li t0, 1; la t1, tohost; sw t0, 0(t1); sw zero, 4(t1); 1: j 1b; \
  fail: fence; slli t0, TESTNUM, 1; ori t0, t0, 1; la t1, tohost; sw t0, 0(t1); sw zero, 4(t1); 2: j 2b; \
  .section .tohost, "aw", @progbits; .align 6; .globl tohost; tohost: .word 0; .word 0; .size tohost, 8; \
  .align 6; .globl fromhost; fromhost: .word 0; .word 0; .size fromhost, 8;

/* Checks register `reg` equals immediate `val` for test `n` (clobbers t6). */
#define CHECK(n, reg, val) li TESTNUM, n; li t6, val; bne reg, t6, fail

/* Runs `code` then checks `reg` == `val` as test `n`. */
#define TEST(n, reg, val, code...) li TESTNUM, n; code; li t6, val; bne reg, t6, fail
