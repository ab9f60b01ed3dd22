/* Sv32 for the paging variants of the guests: identity-maps the 16 MiB image region with
 * 4 KiB pages (so every access goes through the hart's TLB, as under an OS) and the device
 * region below 0x20000000 with 4 MiB superpages, opens PMP to S mode, and continues the
 * caller in supervisor mode with satp set. Traps still go to the M-mode vector. */
#include "rt.h"

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_A 0x40u
#define PTE_D 0x80u
#define IMAGE_PAGES 4096u /* 16 MiB: the link region of every guest */

static uint32_t root[1024] __attribute__((aligned(4096)));
static uint32_t leaves[IMAGE_PAGES] __attribute__((aligned(4096)));

static uint32_t pte(uint32_t pa, uint32_t flags) { return ((pa >> 12) << 10) | flags; }

void paging_enter_supervisor(void) {
  for (uint32_t i = 0; i < IMAGE_PAGES; i++) {
    leaves[i] = pte(RAM_BASE + (i << 12), PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  }
  for (uint32_t t = 0; t < IMAGE_PAGES / 1024; t++) {
    root[(RAM_BASE >> 22) + t] = pte((uint32_t)&leaves[t * 1024], PTE_V);
  }
  for (uint32_t mb = 0; mb < 0x20000000u; mb += 0x400000u) {
    root[mb >> 22] = pte(mb, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  }
  uint32_t satp = 0x80000000u | ((uint32_t)root >> 12);
  __asm__ volatile(
      "li t0, -1\n csrw pmpaddr0, t0\n li t0, 0x1f\n csrw pmpcfg0, t0\n"
      "csrw satp, %0\n sfence.vma\n"
      "li t0, 0x1800\n csrc mstatus, t0\n li t0, 0x800\n csrs mstatus, t0\n"
      "la t0, 1f\n csrw mepc, t0\n mret\n"
      "1:\n" ::"r"(satp)
      : "t0", "memory");
}
