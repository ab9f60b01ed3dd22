/*
 * hello.S - tiny bare-metal RV32 guest used to produce the
 * virt-running.qemu reference migration stream (QEMU 7.2, -M virt -bios none).
 *
 * Written for snapshell; contains no QEMU code.
 *
 * What it does (all deterministic, no interrupts are ever taken):
 *   1. fills 3 pages at 0x80010000..0x80012fff with the word pattern
 *      0x5A5A0000 | word_index  (word_index = 0..3071)
 *   2. writes the ASCII tag "SNAPSHELL-QEMU72" at 0x80013000
 *   3. sets mscratch = 0xDEADBEEF and mtvec = trap (never taken)
 *   4. programs the PLIC: priority[10] (UART0) = 3, enable bit 10 for
 *      context 0 (hart 0 M-mode), threshold[ctx0] = 1
 *   5. programs ACLINT mtimecmp[0] = 0x00000012_34567890 (far in the future)
 *   6. initialises the 16550 UART at 0x10000000 (divisor 1, 8N1, FIFOs on,
 *      IER = 0x01 (RX data avail), MCR = 0x0B, SCR = 0xA5) and prints "hello\n"
 *   7. stores 0x600DF00D at 0x80013010 ("done" marker) and parks in wfi
 *      (mie = 0, so it halts forever).
 */
    .section .text.start, "ax"
    .globl _start
_start:
    /* 1. pattern fill: 3 pages = 3072 words */
    li      t0, 0x80010000
    li      t1, 0x5A5A0000
    li      t2, 3072
    li      t3, 0
1:  or      t4, t1, t3
    sw      t4, 0(t0)
    addi    t0, t0, 4
    addi    t3, t3, 1
    bne     t3, t2, 1b

    /* 2. ascii tag */
    li      t0, 0x80013000
    la      t1, tag
    li      t2, 16
2:  lbu     t3, 0(t1)
    sb      t3, 0(t0)
    addi    t0, t0, 1
    addi    t1, t1, 1
    addi    t2, t2, -1
    bnez    t2, 2b

    /* 3. CSRs */
    li      t0, 0xDEADBEEF
    csrw    mscratch, t0
    la      t0, trap
    csrw    mtvec, t0

    /* 4. PLIC (base 0x0c000000) */
    li      t0, 0x0c000000
    li      t1, 3
    sw      t1, (10*4)(t0)          /* priority[10] = 3 */
    li      t0, 0x0c002000          /* enable, context 0 */
    li      t1, (1 << 10)
    sw      t1, 0(t0)
    li      t0, 0x0c200000          /* threshold, context 0 */
    li      t1, 1
    sw      t1, 0(t0)

    /* 5. ACLINT mtimecmp[0] (0x02004000), high word first */
    li      t0, 0x02004000
    li      t1, 0x00000012
    sw      t1, 4(t0)
    li      t1, 0x34567890
    sw      t1, 0(t0)

    /* 6. UART 16550 at 0x10000000, regshift 0 */
    li      t0, 0x10000000
    li      t1, 0x83
    sb      t1, 3(t0)               /* LCR: DLAB=1, 8N1 */
    li      t1, 1
    sb      t1, 0(t0)               /* DLL = 1 */
    sb      zero, 1(t0)             /* DLM = 0 */
    li      t1, 0x03
    sb      t1, 3(t0)               /* LCR: DLAB=0, 8N1 */
    li      t1, 0x07
    sb      t1, 2(t0)               /* FCR: enable + clear FIFOs */
    li      t1, 0x0B
    sb      t1, 4(t0)               /* MCR: DTR RTS OUT2 */
    li      t1, 0xA5
    sb      t1, 7(t0)               /* SCR */
    li      t1, 0x01
    sb      t1, 1(t0)               /* IER: RX data available */

    la      t1, msg
3:  lbu     t2, 0(t1)
    beqz    t2, 5f
4:  lbu     t3, 5(t0)               /* LSR */
    andi    t3, t3, 0x20            /* THRE */
    beqz    t3, 4b
    sb      t2, 0(t0)
    addi    t1, t1, 1
    j       3b

5:  /* 7. done marker, park */
    li      t0, 0x80013010
    li      t1, 0x600DF00D
    sw      t1, 0(t0)
6:  wfi
    j       6b

    .balign 4
trap:
    j       trap

    .section .rodata
tag:
    .ascii  "SNAPSHELL-QEMU72"
msg:
    .asciz  "hello\n"
