/* timer: periodic machine timer interrupts from the CLINT; counts ticks while in WFI. */
#include "rt.h"

/* Patchable configuration (symbols kept in the ELF symbol table). */
volatile uint32_t timer_ticks = 10;         /* ticks to count before exiting */
volatile uint32_t timer_interval = 100000;  /* mtime units per tick (10 MHz: 10 ms) */

static volatile uint32_t ticks;

void on_timer(void) {
  ticks++;
  kprintf("tick %u\n", ticks);
  if (ticks >= timer_ticks) {
    mtimecmp_write(~0ull); /* stop: no further timer interrupts */
  } else {
    mtimecmp_write(mtime_read() + timer_interval);
  }
}

int main(void) {
  uart_init();
  kprintf("timer: %u ticks, interval %u\n", timer_ticks, timer_interval);
  mtimecmp_write(mtime_read() + timer_interval);
  csr_set(mie, MIE_MTIE);
  irq_enable();
  wait_until(ticks >= timer_ticks);
  irq_disable();
  csr_clear(mie, MIE_MTIE);
  putstr("timer: done\n");
  return 0;
}
