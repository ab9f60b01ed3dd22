/* memwriter: dirties RAM pages at a configurable rate, forever. Every write stores a record
 * (tag, sequence number, check word) in the first words of the page; before overwriting a
 * page the previous record is verified, so a page lost by a snapshot/migration is reported
 * ("memwriter: CORRUPTION ...", exit 1). Prints a progress line every few rounds. */
#include "rt.h"

#define PAGE 4096u
#define MAX_PAGES 3072u /* 12 MiB: the guest must run in 16 MiB of RAM */

/* Patchable configuration (symbols kept in the ELF symbol table). */
volatile uint32_t memwriter_pages_per_round = 64;
volatile uint32_t memwriter_delay = 20000;        /* busy-loop iterations between rounds */
volatile uint32_t memwriter_region_pages = 2048;  /* 8 MiB (clamped to MAX_PAGES) */
volatile uint32_t memwriter_report_every = 16;    /* rounds per progress line */
/* Progress, readable by the host. */
volatile uint32_t memwriter_rounds;
volatile uint32_t memwriter_pages_written;

extern char _end[];
static uint32_t seqs[MAX_PAGES];

static uint32_t tag(uint32_t page) { return 0x6d770000u ^ (page * 0x9e3779b9u); }

int main(void) {
  uart_init();
  uint32_t base = ((uint32_t)_end + PAGE - 1) & ~(PAGE - 1);
  uint32_t npages = memwriter_region_pages;
  uint32_t room = (RAM_BASE + 16u * 1024u * 1024u - base) / PAGE;
  if (npages > MAX_PAGES) npages = MAX_PAGES;
  if (npages > room) npages = room;
  if (npages == 0) npages = 1;
  kprintf("memwriter: region %X, %u pages, %u pages/round, delay %u\n", base, npages,
          memwriter_pages_per_round, memwriter_delay);
  uint32_t cursor = 0, seq = 0;
  for (;;) {
    uint32_t n = memwriter_pages_per_round;
    for (uint32_t i = 0; i < n; i++) {
      volatile uint32_t *p = (volatile uint32_t *)(base + cursor * PAGE);
      uint32_t old = seqs[cursor];
      if (old != 0 && (p[0] != tag(cursor) || p[1] != old || p[2] != (tag(cursor) ^ old))) {
        kprintf("memwriter: CORRUPTION at page %u (%X): %X %X %X, expected seq %u\n", cursor,
                (uint32_t)p, p[0], p[1], p[2], old);
        rt_exit(1);
      }
      seq++;
      p[0] = tag(cursor);
      p[1] = seq;
      p[2] = tag(cursor) ^ seq;
      seqs[cursor] = seq;
      cursor = cursor + 1 == npages ? 0 : cursor + 1;
    }
    memwriter_pages_written = seq;
    uint32_t r = ++memwriter_rounds;
    uint32_t every = memwriter_report_every;
    if (every != 0 && r % every == 0) {
      kprintf("memwriter: round %u, %u pages written\n", r, seq);
    }
    for (volatile uint32_t d = memwriter_delay; d != 0; d--) {
    }
  }
}
