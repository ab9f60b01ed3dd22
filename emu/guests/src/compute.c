/* compute: CPU-bound benchmark. CRC32 (table-driven) over a 4 KiB buffer that is remixed
 * with a multiply-based generator after every pass. The default of 20800 iterations (about
 * 48100 instructions each) is about 1.0e9 instructions; build with -DCOMPUTE_ITERATIONS=n
 * (compute-small: 8 iterations, about 0.4e6 instructions) or patch the `compute_iterations`
 * word for a shorter run. Prints the result and exits 0. With -DCOMPUTE_PAGED (compute-paged)
 * it runs in S mode under Sv32 with 4 KiB pages (rt/paging.c). */
#include "rt.h"

#ifndef COMPUTE_ITERATIONS
#define COMPUTE_ITERATIONS 20800
#endif

#define BUF_BYTES 4096

/* Patchable configuration and result (symbols kept in the ELF symbol table). */
volatile uint32_t compute_iterations = COMPUTE_ITERATIONS;
volatile uint32_t compute_result;

static uint32_t crc_table[256];
static uint32_t buf[BUF_BYTES / 4];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32(const uint8_t *p, uint32_t n) {
  uint32_t c = 0xffffffffu;
  for (uint32_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

#ifdef COMPUTE_PAGED
void paging_enter_supervisor(void);
#endif

int main(void) {
#ifdef COMPUTE_PAGED
  paging_enter_supervisor(); /* compute-paged: the same work in S mode under Sv32 */
#endif
  uart_init();
  uint32_t iters = compute_iterations;
  kprintf("compute: crc32 over %u bytes x %u iterations\n", BUF_BYTES, iters);
  crc_init();
  uint32_t x = 12345;
  for (uint32_t i = 0; i < BUF_BYTES / 4; i++) {
    x = x * 1664525u + 1013904223u;
    buf[i] = x;
  }
  uint32_t acc = 0;
  for (uint32_t it = 0; it < iters; it++) {
    uint32_t c = crc32((const uint8_t *)buf, BUF_BYTES);
    acc = (acc << 5 | acc >> 27) ^ c;
    x ^= c;
    for (uint32_t i = 0; i < BUF_BYTES / 4; i++) {
      x = x * 1664525u + 1013904223u;
      buf[i] ^= x;
    }
    if ((it & 0x3ff) == 0x3ff) kprintf("compute: %u/%u\n", it + 1, iters);
  }
  compute_result = acc;
  kprintf("compute: result %X\n", acc);
  return 0;
}
