/* snapshell guest runtime: devices of the `virt` machine, console output, exit. */
#ifndef SNAPSHELL_RT_H
#define SNAPSHELL_RT_H

#include <stdarg.h>
#include <stdint.h>

/* ---- memory map ---- */
#define RAM_BASE 0x80000000u
#define FINISHER_BASE 0x00100000u
#define RTC_BASE 0x00101000u
#define CLINT_BASE 0x02000000u
#define PLIC_BASE 0x0c000000u
#define UART_BASE 0x10000000u
#define NVME_BASE 0x10100000u

#define IRQ_UART 10
#define IRQ_RTC 11
#define IRQ_NVME 12

#define CLINT_MSIP (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME (CLINT_BASE + 0xbff8)
#define TIMEBASE_HZ 10000000u

#define RTC_TIME_LOW 0x00
#define RTC_TIME_HIGH 0x04
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0c
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_ALARM 0x14
#define RTC_ALARM_STATUS 0x18
#define RTC_CLEAR_INTERRUPT 0x1c

/* 16550A registers (reg-shift 0) */
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20

/* mcause / mie / mstatus bits */
#define MCAUSE_INT 0x80000000u
#define IRQ_M_SOFT 3
#define IRQ_M_TIMER 7
#define IRQ_M_EXT 11
#define MIE_MSIE (1u << IRQ_M_SOFT)
#define MIE_MTIE (1u << IRQ_M_TIMER)
#define MIE_MEIE (1u << IRQ_M_EXT)
#define MSTATUS_MIE 0x8u

/* ---- MMIO ---- */
static inline void mmio_w32(uint32_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }
static inline uint32_t mmio_r32(uint32_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_w8(uint32_t addr, uint8_t v) { *(volatile uint8_t *)addr = v; }
static inline uint8_t mmio_r8(uint32_t addr) { return *(volatile uint8_t *)addr; }

#define csr_read(csr)                                       \
  ({                                                        \
    uint32_t __v;                                           \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory"); \
    __v;                                                    \
  })
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"rK"(val) : "memory")
#define csr_set(csr, val) __asm__ volatile("csrs " #csr ", %0" ::"rK"(val) : "memory")
#define csr_clear(csr, val) __asm__ volatile("csrc " #csr ", %0" ::"rK"(val) : "memory")

static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
/* Sleep until an interrupt is pending and let it be taken; call with interrupts enabled.
 * `cond` is checked with interrupts off so a wakeup between check and WFI is not lost
 * (WFI resumes on a pending interrupt even while mstatus.MIE is clear). */
#define wait_until(cond)      \
  do {                        \
    for (;;) {                \
      irq_disable();          \
      if (cond) break;        \
      wfi();                  \
      irq_enable();           \
    }                         \
    irq_enable();             \
  } while (0)
static inline void irq_enable(void) { csr_set(mstatus, MSTATUS_MIE); }
static inline void irq_disable(void) { csr_clear(mstatus, MSTATUS_MIE); }
static inline void fence(void) { __asm__ volatile("fence" ::: "memory"); }

/* ---- console (UART) ---- */
void uart_init(void);
void putch(char c);
void putstr(const char *s);
void puthex(uint32_t v); /* 0x%08x */
void putdec(uint32_t v);
void putdec64(uint64_t v);
void kprintf(const char *fmt, ...); /* %s %c %d %u %x %X(=0x%08x) %llu %llx, width, '0' flag */
void kvprintf(const char *fmt, va_list ap);
int uart_getc(void); /* -1 when nothing is waiting */

/* ---- finisher ---- */
void rt_exit(int code) __attribute__((noreturn)); /* 0 -> 0x5555, else (code<<16)|0x3333 */
void rt_reboot(void) __attribute__((noreturn));

/* ---- CLINT ---- */
uint64_t mtime_read(void);
void mtimecmp_write(uint64_t v);

/* ---- PLIC (hart 0, M-mode context 0) ---- */
void plic_set_priority(uint32_t irq, uint32_t prio);
void plic_enable(uint32_t irq);
void plic_disable(uint32_t irq);
void plic_set_threshold(uint32_t t);
uint32_t plic_claim(void);
void plic_complete(uint32_t irq);
int plic_pending(uint32_t irq);

/* ---- goldfish RTC ---- */
uint64_t rtc_read_ns(void);

/* ---- 64-bit helpers (no libgcc) ---- */
uint64_t udiv64(uint64_t n, uint64_t d, uint64_t *rem);

/* ---- trap hooks: guests override the weak defaults ---- */
void on_timer(void);          /* machine timer interrupt */
void on_soft(void);           /* machine software interrupt */
void on_irq(uint32_t irq);    /* PLIC source (already claimed; completed after return) */
/* Called for exceptions; returns the pc to resume at. The default prints the cause and exits
 * with code 0x7f (except for faults inside rt_probe_r32). */
uint32_t on_exception(uint32_t mcause, uint32_t mepc, uint32_t mtval);
/* Load a word that may fault (no device there): 1 and *val on success, 0 on an access fault. */
int rt_probe_r32(uint32_t addr, uint32_t *val);

typedef __SIZE_TYPE__ size_t;
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
