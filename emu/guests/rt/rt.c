/* snapshell guest runtime: console, finisher, CLINT, PLIC, RTC and trap dispatch. */
#include "rt.h"

/* ---------------- UART ---------------- */

void uart_init(void) {
  /* QEMU and snapshell need no baud setup; keep 8N1 and leave the FIFO as it is
   * (toggling FCR.FE would drop input that already arrived). */
  mmio_w8(UART_BASE + UART_LCR, 0x03);
  mmio_w8(UART_BASE + UART_IER, 0x00);
}

void putch(char c) {
  while ((mmio_r8(UART_BASE + UART_LSR) & UART_LSR_THRE) == 0) {
  }
  mmio_w8(UART_BASE + UART_THR, (uint8_t)c);
}

int uart_getc(void) {
  if (mmio_r8(UART_BASE + UART_LSR) & UART_LSR_DR) return mmio_r8(UART_BASE + UART_RBR);
  return -1;
}

void putstr(const char *s) {
  while (*s) putch(*s++);
}

static const char hexdig[] = "0123456789abcdef";

void puthex(uint32_t v) {
  putstr("0x");
  for (int i = 28; i >= 0; i -= 4) putch(hexdig[(v >> i) & 0xf]);
}

uint64_t udiv64(uint64_t n, uint64_t d, uint64_t *rem) {
  uint64_t q = 0, r = 0;
  if (d == 0) {
    if (rem) *rem = n;
    return ~0ull;
  }
  if ((n >> 32) == 0 && (d >> 32) == 0) {
    uint32_t n32 = (uint32_t)n, d32 = (uint32_t)d;
    if (rem) *rem = n32 % d32;
    return n32 / d32;
  }
  for (int i = 63; i >= 0; i--) {
    r = (r << 1) | ((n >> i) & 1);
    if (r >= d) {
      r -= d;
      q |= 1ull << i;
    }
  }
  if (rem) *rem = r;
  return q;
}

static void put_padded(const char *digits, int len, int width, char pad, int neg) {
  int total = len + (neg ? 1 : 0);
  if (neg && pad == '0') putch('-');
  for (int i = total; i < width; i++) putch(pad);
  if (neg && pad != '0') putch('-');
  for (int i = 0; i < len; i++) putch(digits[i]);
}

static int fmt_u64(char *buf, uint64_t v, uint32_t base) {
  char tmp[24];
  int n = 0;
  do {
    uint64_t r;
    v = udiv64(v, base, &r);
    tmp[n++] = hexdig[r];
  } while (v);
  for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

void putdec(uint32_t v) {
  char b[24];
  int n = fmt_u64(b, v, 10);
  put_padded(b, n, 0, ' ', 0);
}

void putdec64(uint64_t v) {
  char b[24];
  int n = fmt_u64(b, v, 10);
  put_padded(b, n, 0, ' ', 0);
}

void kvprintf(const char *fmt, va_list ap) {
  char b[24];
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      putch(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, longlong = 0;
    if (*fmt == '0') {
      pad = '0';
      fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') {
      longlong++;
      fmt++;
    }
    switch (*fmt) {
    case 's': {
      const char *s = va_arg(ap, const char *);
      int len = 0;
      while (s[len]) len++;
      put_padded(s, len, width, ' ', 0);
      break;
    }
    case 'c':
      putch((char)va_arg(ap, int));
      break;
    case 'd': {
      int64_t v = longlong >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
      int neg = v < 0;
      int n = fmt_u64(b, neg ? (uint64_t)(-v) : (uint64_t)v, 10);
      put_padded(b, n, width, pad, neg);
      break;
    }
    case 'u':
    case 'x': {
      uint64_t v = longlong >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
      int n = fmt_u64(b, v, *fmt == 'u' ? 10 : 16);
      put_padded(b, n, width, pad, 0);
      break;
    }
    case 'X':
      puthex(va_arg(ap, uint32_t));
      break;
    case '%':
      putch('%');
      break;
    case 0:
      return;
    default:
      putch('%');
      putch(*fmt);
    }
  }
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kvprintf(fmt, ap);
  va_end(ap);
}

/* ---------------- finisher ---------------- */

void rt_exit(int code) {
  uint32_t v = code == 0 ? 0x5555u : (((uint32_t)code & 0xffffu) << 16) | 0x3333u;
  mmio_w32(FINISHER_BASE, v);
  for (;;) wfi();
}

void rt_reboot(void) {
  mmio_w32(FINISHER_BASE, 0x7777u);
  for (;;) wfi();
}

/* ---------------- CLINT ---------------- */

uint64_t mtime_read(void) {
  uint32_t hi, lo;
  do {
    hi = mmio_r32(CLINT_MTIME + 4);
    lo = mmio_r32(CLINT_MTIME);
  } while (hi != mmio_r32(CLINT_MTIME + 4));
  return ((uint64_t)hi << 32) | lo;
}

void mtimecmp_write(uint64_t v) {
  mmio_w32(CLINT_MTIMECMP, 0xffffffffu); /* no spurious match while the halves disagree */
  mmio_w32(CLINT_MTIMECMP + 4, (uint32_t)(v >> 32));
  mmio_w32(CLINT_MTIMECMP, (uint32_t)v);
}

/* ---------------- PLIC ---------------- */

#define PLIC_PRIORITY(irq) (PLIC_BASE + 4u * (irq))
#define PLIC_PENDING(irq) (PLIC_BASE + 0x1000u + 4u * ((irq) / 32u))
#define PLIC_ENABLE(irq) (PLIC_BASE + 0x2000u + 4u * ((irq) / 32u))
#define PLIC_THRESHOLD (PLIC_BASE + 0x200000u)
#define PLIC_CLAIM (PLIC_BASE + 0x200004u)

void plic_set_priority(uint32_t irq, uint32_t prio) { mmio_w32(PLIC_PRIORITY(irq), prio); }
void plic_enable(uint32_t irq) {
  mmio_w32(PLIC_ENABLE(irq), mmio_r32(PLIC_ENABLE(irq)) | (1u << (irq % 32u)));
}
void plic_disable(uint32_t irq) {
  mmio_w32(PLIC_ENABLE(irq), mmio_r32(PLIC_ENABLE(irq)) & ~(1u << (irq % 32u)));
}
void plic_set_threshold(uint32_t t) { mmio_w32(PLIC_THRESHOLD, t); }
uint32_t plic_claim(void) { return mmio_r32(PLIC_CLAIM); }
void plic_complete(uint32_t irq) { mmio_w32(PLIC_CLAIM, irq); }
int plic_pending(uint32_t irq) { return (mmio_r32(PLIC_PENDING(irq)) >> (irq % 32u)) & 1u; }

/* ---------------- goldfish RTC ---------------- */

uint64_t rtc_read_ns(void) {
  uint32_t lo = mmio_r32(RTC_BASE + RTC_TIME_LOW); /* latches TIME_HIGH */
  uint32_t hi = mmio_r32(RTC_BASE + RTC_TIME_HIGH);
  return ((uint64_t)hi << 32) | lo;
}

/* ---------------- traps ---------------- */

__attribute__((weak)) void on_timer(void) {
  putstr("unexpected timer interrupt\n");
  rt_exit(0x7e);
}

__attribute__((weak)) void on_soft(void) {
  putstr("unexpected software interrupt\n");
  rt_exit(0x7e);
}

__attribute__((weak)) void on_irq(uint32_t irq) {
  kprintf("unexpected external interrupt %u\n", irq);
  rt_exit(0x7e);
}

static volatile uint32_t probe_active, probe_faulted;

int rt_probe_r32(uint32_t addr, uint32_t *val) {
  probe_faulted = 0;
  probe_active = 1;
  uint32_t v = mmio_r32(addr);
  probe_active = 0;
  if (probe_faulted) return 0;
  *val = v;
  return 1;
}

__attribute__((weak)) uint32_t on_exception(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  kprintf("\nexception: mcause=%X mepc=%X mtval=%X\n", mcause, mepc, mtval);
  rt_exit(0x7f);
}

uint32_t rt_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  if ((mcause & MCAUSE_INT) == 0) {
    if (probe_active && (mcause == 5 || mcause == 7)) { /* load/store access fault */
      probe_faulted = 1;
      return mepc + 4; /* no compressed instructions in these guests */
    }
    return on_exception(mcause, mepc, mtval);
  }
  switch (mcause & ~MCAUSE_INT) {
  case IRQ_M_TIMER:
    on_timer();
    break;
  case IRQ_M_SOFT:
    on_soft();
    break;
  case IRQ_M_EXT:
    for (;;) {
      uint32_t irq = plic_claim();
      if (irq == 0) break;
      on_irq(irq);
      plic_complete(irq);
    }
    break;
  default:
    kprintf("unexpected interrupt mcause=%X\n", mcause);
    rt_exit(0x7e);
  }
  return mepc;
}

/* ---------------- libc bits the compiler may call ---------------- */

void *memset(void *d, int c, size_t n) {
  uint8_t *p = d;
  while (n--) *p++ = (uint8_t)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  uint8_t *p = d;
  const uint8_t *q = s;
  while (n--) *p++ = *q++;
  return d;
}

int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p < *q ? -1 : 1;
  return 0;
}
