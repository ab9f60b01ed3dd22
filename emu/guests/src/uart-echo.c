/* uart-echo: UART receive interrupts through the PLIC (irq 10); echoes input uppercased and
 * exits 0 on 'q'. */
#include "rt.h"

static volatile int quit;
static volatile uint32_t received;

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

void on_irq(uint32_t irq) {
  if (irq != IRQ_UART) {
    kprintf("\nuart-echo: unexpected irq %u\n", irq);
    rt_exit(3);
  }
  int c;
  while (!quit && (c = uart_getc()) >= 0) {
    received++;
    if (c == 'q') {
      quit = 1;
      break;
    }
    if (c == '\r') c = '\n';
    putch(upper((char)c));
  }
}

int main(void) {
  uart_init();
  putstr("uart-echo: type text, 'q' quits\n");
  plic_set_priority(IRQ_UART, 1);
  plic_set_threshold(0);
  plic_enable(IRQ_UART);
  mmio_w8(UART_BASE + UART_MCR, 0x08);  /* OUT2: route the UART interrupt */
  mmio_w8(UART_BASE + UART_IER, 0x01);  /* ERBFI: received data available */
  csr_set(mie, MIE_MEIE);
  irq_enable();
  wait_until(quit);
  irq_disable();
  mmio_w8(UART_BASE + UART_IER, 0x00);
  kprintf("\nuart-echo: bye after %u bytes\n", received);
  return 0;
}
