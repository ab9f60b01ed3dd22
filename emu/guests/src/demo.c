/* demo: the default machine's guest; uses every device and runs forever.
 *  - UART: banner, heartbeat lines, echoes received bytes (receive interrupt, PLIC irq 10)
 *  - CLINT: periodic machine timer interrupt; a heartbeat every demo_ticks_per_heartbeat ticks
 *  - goldfish RTC: time printed on each heartbeat; one alarm (PLIC irq 11) shortly after boot
 *  - NVMe: queue pairs 1..3 created, pair 2 deleted (a hole); each heartbeat writes blocks via
 *    SQ 1, reads them back via SQ 3, verifies and flushes (polled). Skipped when absent. */
#include "nvme.h"

/* Patchable configuration (symbols kept in the ELF symbol table). */
volatile uint32_t demo_tick_interval = 100000;    /* mtime units per tick (10 ms) */
volatile uint32_t demo_ticks_per_heartbeat = 50;  /* 0.5 s */
volatile uint32_t demo_nvme_ios = 4;              /* blocks written+read per heartbeat */
volatile uint32_t demo_alarm_ms = 200;            /* RTC alarm after boot */
/* Progress, readable by the host. */
volatile uint32_t demo_ticks;
volatile uint32_t demo_heartbeats;

static volatile uint32_t heartbeat_due, alarm_fired;
static volatile uint8_t rx_ring[256];
static volatile uint32_t rx_head, rx_tail; /* ISR writes head, main reads tail */

static nvme_sqe_t admin_sq[8] __attribute__((aligned(4096)));
static nvme_cqe_t admin_cq[8] __attribute__((aligned(4096)));
static nvme_sqe_t io_sq[4][8] __attribute__((aligned(4096)));
static nvme_cqe_t io_cq[4][8] __attribute__((aligned(4096)));
static uint32_t blk_w[NVME_BLOCK / 4], blk_r[NVME_BLOCK / 4];
static nvme_queue_t admin, io[4];
static int have_nvme;
static uint32_t nlb, nvme_ok, nvme_bad;

void on_timer(void) {
  demo_ticks++;
  mtimecmp_write(mtime_read() + demo_tick_interval);
  uint32_t k = demo_ticks_per_heartbeat;
  if (k != 0 && demo_ticks % k == 0) heartbeat_due++;
}

void on_irq(uint32_t irq) {
  if (irq == IRQ_UART) {
    int c;
    while ((c = uart_getc()) >= 0) {
      if (rx_head - rx_tail < sizeof rx_ring) rx_ring[rx_head++ % sizeof rx_ring] = (uint8_t)c;
    }
  } else if (irq == IRQ_RTC) {
    mmio_w32(RTC_BASE + RTC_CLEAR_INTERRUPT, 1);
    mmio_w32(RTC_BASE + RTC_IRQ_ENABLED, 0);
    alarm_fired++;
  } else {
    kprintf("demo: unexpected irq %u\n", irq);
  }
}

static void put_rtc(void) {
  uint64_t rem;
  uint64_t s = udiv64(rtc_read_ns(), 1000000000ull, &rem);
  kprintf("%llu.%03us", s, (uint32_t)rem / 1000000u);
}

static void nvme_setup(void) {
  have_nvme = nvme_present();
  if (!have_nvme) {
    putstr("demo: nvme: not present\n");
    return;
  }
  nlb = nvme_r32(NVME_NLB);
  if (nlb == 0 || nvme_enable(&admin, admin_sq, 8, admin_cq, 8) != 0) {
    putstr("demo: nvme: enable failed\n");
    have_nvme = 0;
    return;
  }
  for (uint16_t q = 1; q <= 3; q++) {
    nvme_queue_init(&io[q], q, io_sq[q], 8, io_cq[q], 8);
    if (nvme_create_cq(&admin, q, io_cq[q], 8, 0) || nvme_create_sq(&admin, q, io_sq[q], 8, q)) {
      kprintf("demo: nvme: creating queue pair %u failed\n", q);
      have_nvme = 0;
      return;
    }
  }
  if (nvme_delete_sq(&admin, 2) || nvme_delete_cq(&admin, 2)) {
    putstr("demo: nvme: deleting queue pair 2 failed\n");
    have_nvme = 0;
    return;
  }
  kprintf("demo: nvme: %u blocks, I/O queues 1 and 3 (2 deleted)\n", nlb);
}

static void nvme_heartbeat(uint32_t hb) {
  for (uint32_t i = 0; i < demo_nvme_ios; i++) {
    uint32_t lba = (hb * 8u + i) % nlb;
    for (uint32_t w = 0; w < NVME_BLOCK / 4; w++) blk_w[w] = (hb << 16) ^ (lba * 131u) ^ w;
    memset(blk_r, 0, sizeof blk_r);
    if (nvme_io(&io[1], NVME_IO_WRITE, lba, 1, blk_w) == 0 &&
        nvme_io(&io[3], NVME_IO_READ, lba, 1, blk_r) == 0 &&
        memcmp(blk_w, blk_r, sizeof blk_w) == 0) {
      nvme_ok++;
    } else {
      nvme_bad++;
    }
  }
  if (nvme_io(&io[1], NVME_IO_FLUSH, 0, 0, 0) != 0) nvme_bad++;
}

int main(void) {
  uart_init();
  putstr("\n=== snapshell demo guest ===\n");
  putstr("demo: devices: uart, clint timer, plic, goldfish rtc, nvme\n");
  putstr("demo: rtc at boot ");
  put_rtc();
  putch('\n');
  nvme_setup();

  plic_set_threshold(0);
  plic_set_priority(IRQ_UART, 1);
  plic_set_priority(IRQ_RTC, 1);
  plic_enable(IRQ_UART);
  plic_enable(IRQ_RTC);
  mmio_w8(UART_BASE + UART_MCR, 0x08);  /* OUT2 */
  mmio_w8(UART_BASE + UART_IER, 0x01);  /* receive interrupt */

  uint64_t alarm = rtc_read_ns() + (uint64_t)demo_alarm_ms * 1000000ull;
  mmio_w32(RTC_BASE + RTC_ALARM_HIGH, (uint32_t)(alarm >> 32));
  mmio_w32(RTC_BASE + RTC_ALARM_LOW, (uint32_t)alarm); /* arms the alarm */
  mmio_w32(RTC_BASE + RTC_IRQ_ENABLED, 1);

  mtimecmp_write(mtime_read() + demo_tick_interval);
  csr_set(mie, MIE_MTIE | MIE_MEIE);
  irq_enable();
  kprintf("demo: heartbeat every %u ticks of %u us; type to echo\n", demo_ticks_per_heartbeat,
          demo_tick_interval / 10);

  uint32_t alarms_reported = 0;
  for (;;) {
    wait_until(rx_tail != rx_head || alarm_fired != alarms_reported || heartbeat_due);
    while (rx_tail != rx_head) {
      char c = (char)rx_ring[rx_tail++ % sizeof rx_ring];
      putch(c == '\r' ? '\n' : c);
    }
    if (alarm_fired != alarms_reported) {
      alarms_reported = alarm_fired;
      putstr("demo: rtc alarm fired\n");
    }
    while (heartbeat_due) {
      irq_disable();
      heartbeat_due--;
      irq_enable();
      uint32_t hb = ++demo_heartbeats;
      kprintf("demo: heartbeat %u rtc ", hb);
      put_rtc();
      if (have_nvme) {
        nvme_heartbeat(hb);
        kprintf(" nvme ok %u bad %u\n", nvme_ok, nvme_bad);
      } else {
        putstr(" nvme -\n");
      }
    }
  }
}
