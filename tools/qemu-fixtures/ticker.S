/*
 * ticker.S - a bare-metal RV32 guest that never stops writing to the console: the fuzz seeds
 * of `fuzz --target qemu` (harness/fuzz/qemu/seeds.ts) run it so "the guest keeps running after
 * the load" is visible as console output that continues. Written for snapshell; no QEMU code.
 *
 * The 16550 at 0x10000000 (QEMU virt): divisor 1, 8N1; then 'a'..'z' and a newline, forever,
 * with a delay loop of 100,000 iterations between characters. seeds.ts holds the same program
 * as machine words (so no cross compiler is needed); rebuild them with
 *   riscv64-unknown-elf-gcc -march=rv32i -mabi=ilp32 -nostdlib -static -Ttext=0x80000000 \
 *       -o ticker.elf ticker.S && riscv64-unknown-elf-objcopy -O binary ticker.elf ticker.bin
 *   od -An -tx4 -v ticker.bin
 */
    .section .text.start, "ax"
    .globl _start
_start:
    li      t0, 0x10000000
    li      t1, 0x80
    sb      t1, 3(t0)
    li      t1, 1
    sb      t1, 0(t0)
    sb      zero, 1(t0)
    li      t1, 3
    sb      t1, 3(t0)
    li      t2, 'a'
    li      t3, 'z' + 1
loop:
    sb      t2, 0(t0)
    addi    t2, t2, 1
    bne     t2, t3, 1f
    li      t1, '\n'
    sb      t1, 0(t0)
    li      t2, 'a'
1:  li      t4, 100000
2:  addi    t4, t4, -1
    bnez    t4, 2b
    j       loop
