/* nvme: exercises snapshell's NVMe-style queue device (docs/devices/nvme.md).
 * Enables the controller, creates I/O queue pairs 1..4, checks error statuses, deletes
 * queues 2 and 3 (leaving holes), writes patterned blocks and reads them back, wraps a
 * queue several times, tests the PLIC irq 12 path once, flushes and exits 0 (1 on any
 * failure, 2 when there is no device). */
#include "nvme.h"

#define ADMIN_ENTRIES 16
#define IO_SQ_ENTRIES 8
#define IO_CQ_ENTRIES 8
#define NQ 4
#define BUF_BLOCKS 8

static nvme_sqe_t admin_sq[ADMIN_ENTRIES] __attribute__((aligned(4096)));
static nvme_cqe_t admin_cq[ADMIN_ENTRIES] __attribute__((aligned(4096)));
static nvme_sqe_t io_sq[NQ + 1][IO_SQ_ENTRIES] __attribute__((aligned(4096)));
static nvme_cqe_t io_cq[NQ + 1][IO_CQ_ENTRIES] __attribute__((aligned(4096)));
static nvme_sqe_t big_sq[16] __attribute__((aligned(4096)));
static nvme_cqe_t big_cq[16] __attribute__((aligned(4096)));
static uint32_t wbuf[BUF_BLOCKS * NVME_BLOCK / 4] __attribute__((aligned(64)));
static uint32_t rbuf[BUF_BLOCKS * NVME_BLOCK / 4] __attribute__((aligned(64)));

static nvme_queue_t admin;
static nvme_queue_t io[NQ + 1];
static uint32_t checks, failures, commands;

/* Interrupt test state. */
static nvme_queue_t *volatile irq_queue;
static volatile uint32_t irq_count, irq_entries, irq_last_status;

static void check(int ok, const char *what) {
  checks++;
  if (!ok) {
    failures++;
    kprintf("nvme: FAIL: %s\n", what);
  }
}

static void check_status(uint32_t got, uint32_t want, const char *what) {
  commands++;
  checks++;
  if (got != want) {
    failures++;
    kprintf("nvme: FAIL: %s: status %x, expected %x\n", what, got, want);
  }
}

static uint32_t pattern(uint32_t lba, uint32_t word, uint32_t salt) {
  uint32_t x = lba * 0x9e3779b9u ^ word * 0x85ebca6bu ^ salt;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  return x;
}

static void fill(uint64_t slba, uint32_t nblocks, uint32_t salt) {
  for (uint32_t b = 0; b < nblocks; b++)
    for (uint32_t w = 0; w < NVME_BLOCK / 4; w++)
      wbuf[b * NVME_BLOCK / 4 + w] = pattern((uint32_t)slba + b, w, salt);
}

static int verify(uint64_t slba, uint32_t nblocks, uint32_t salt) {
  for (uint32_t b = 0; b < nblocks; b++)
    for (uint32_t w = 0; w < NVME_BLOCK / 4; w++)
      if (rbuf[b * NVME_BLOCK / 4 + w] != pattern((uint32_t)slba + b, w, salt)) return 0;
  return 1;
}

/* Write nblocks at slba through queue wq, read them back through rq, compare. */
static void write_read(nvme_queue_t *wq, nvme_queue_t *rq, uint64_t slba, uint32_t nblocks,
                       uint32_t salt, const char *what) {
  fill(slba, nblocks, salt);
  check_status(nvme_io(wq, NVME_IO_WRITE, slba, nblocks, wbuf), 0, what);
  memset(rbuf, 0xa5, sizeof rbuf);
  check_status(nvme_io(rq, NVME_IO_READ, slba, nblocks, rbuf), 0, what);
  check(verify(slba, nblocks, salt), what);
}

void on_irq(uint32_t irq) {
  if (irq != IRQ_NVME) {
    kprintf("nvme: unexpected irq %u\n", irq);
    rt_exit(1);
  }
  irq_count++;
  nvme_cqe_t c;
  while (irq_queue && nvme_poll(irq_queue, &c)) {
    irq_entries++;
    irq_last_status = nvme_cqe_status(&c);
  }
}

static void irq_test(void) {
  plic_set_priority(IRQ_NVME, 1);
  plic_set_threshold(0);
  plic_enable(IRQ_NVME);
  /* The admin CQ always interrupts, so the gateway may hold a stale pending irq 12 from the
   * admin commands above (their level is low again now): drain it with interrupts off. */
  for (int i = 0; i < 8; i++) {
    uint32_t id = plic_claim();
    if (id == 0) break;
    plic_complete(id);
  }
  check(!plic_pending(IRQ_NVME), "irq 12 not pending while every CQ is consumed");
  irq_queue = &io[1];
  irq_count = 0;
  irq_entries = 0;
  csr_set(mie, MIE_MEIE);
  irq_enable();

  /* CQ 1 has IEN: the completion must raise irq 12, and the handler consumes it. */
  nvme_sqe_t c;
  nvme_io_cmd(&c, NVME_IO_READ, 0, 1, rbuf);
  nvme_submit(&io[1], &c);
  commands++;
  for (uint32_t i = 0; i < 100000 && irq_entries == 0; i++) fence();
  check(irq_entries == 1, "CQ 1 (IEN) completion delivered through PLIC irq 12");
  check(irq_last_status == 0, "interrupt-delivered read status");
  uint32_t after_first = irq_count;
  check(after_first >= 1, "irq 12 taken");
  for (uint32_t i = 0; i < 10000; i++) fence();
  check(irq_count == after_first, "irq 12 drops once the CQ head doorbell is written");

  /* CQ 4 has no IEN: its completion must not interrupt; poll it. */
  irq_queue = 0;
  nvme_io_cmd(&c, NVME_IO_READ, 1, 1, rbuf);
  uint16_t cid = nvme_submit(&io[4], &c);
  commands++;
  for (uint32_t i = 0; i < 10000; i++) fence();
  check(irq_count == after_first, "CQ 4 (no IEN) does not interrupt");
  nvme_cqe_t done;
  int got = 0;
  for (uint32_t i = 0; i < 100000 && !got; i++) got = nvme_poll(&io[4], &done);
  check(got && nvme_cqe_cid(&done) == cid && nvme_cqe_status(&done) == 0, "CQ 4 polled");

  irq_disable();
  csr_clear(mie, MIE_MEIE);
  plic_disable(IRQ_NVME);
  kprintf("nvme: irq path: %u interrupt(s) for CQ 1, none for CQ 4\n", after_first);
}

int main(void) {
  uart_init();
  putstr("nvme: exerciser\n");
  if (!nvme_present()) {
    kprintf("nvme: no device at %X\n", NVME_BASE);
    return 2;
  }
  uint32_t cap = nvme_r32(NVME_CAP);
  uint32_t nlb = nvme_r32(NVME_NLB);
  kprintf("nvme: CAP=%X VS=%X NLB=%u (%u KiB)\n", cap, nvme_r32(NVME_VS), nlb, nlb / 2);
  check((cap & 0xffffu) == 63, "CAP.MQES == 63");
  check(((cap >> 16) & 0xffu) == 8, "CAP max I/O queue id == 8");
  if (nlb < 64) {
    kprintf("nvme: disk too small (%u blocks, need 64)\n", nlb);
    return 1;
  }

  int r = nvme_enable(&admin, admin_sq, ADMIN_ENTRIES, admin_cq, ADMIN_ENTRIES);
  if (r) {
    kprintf("nvme: enable failed (%d), CSTS=%X\n", r, nvme_r32(NVME_CSTS));
    return 1;
  }
  putstr("nvme: controller ready\n");

  /* I/O queue pairs 1..4; CQ 1..3 interrupt-enabled, CQ 4 polled only. */
  for (uint16_t q = 1; q <= NQ; q++) {
    nvme_queue_init(&io[q], q, io_sq[q], IO_SQ_ENTRIES, io_cq[q], IO_CQ_ENTRIES);
    check_status(nvme_create_cq(&admin, q, io_cq[q], IO_CQ_ENTRIES, q != 4), 0, "create CQ");
    check_status(nvme_create_sq(&admin, q, io_sq[q], IO_SQ_ENTRIES, q), 0, "create SQ");
  }
  putstr("nvme: created I/O queue pairs 1..4\n");

  /* Error statuses. */
  nvme_sqe_t c;
  memset(&c, 0, sizeof c);
  c.dw[0] = 0x7f;
  c.dw[1] = 1;
  check_status(nvme_cmd(&admin, &c, 0), NVME_SC_INVALID_OPCODE, "unknown admin opcode");
  check_status(nvme_create_cq(&admin, 9, big_cq, 16, 0), NVME_SC_INVALID_QID, "create CQ 9");
  check_status(nvme_create_cq(&admin, 0, big_cq, 16, 0), NVME_SC_INVALID_QID, "create CQ 0");
  check_status(nvme_create_cq(&admin, 1, big_cq, 16, 0), NVME_SC_INVALID_QID,
               "create CQ 1 again");
  check_status(nvme_create_cq(&admin, 5, big_cq, 65, 0), NVME_SC_INVALID_QSIZE,
               "create CQ with 65 entries");
  check_status(nvme_create_sq(&admin, 9, big_sq, 16, 1), NVME_SC_INVALID_QID, "create SQ 9");
  check_status(nvme_create_sq(&admin, 1, big_sq, 16, 1), NVME_SC_INVALID_QID,
               "create SQ 1 again");
  check_status(nvme_create_sq(&admin, 5, big_sq, 65, 1), NVME_SC_INVALID_QSIZE,
               "create SQ with 65 entries");
  check_status(nvme_delete_cq(&admin, 2), NVME_SC_INVALID_QDELETE, "delete CQ 2 with SQ 2");
  check_status(nvme_delete_sq(&admin, 7), NVME_SC_INVALID_QID, "delete missing SQ 7");
  check_status(nvme_delete_sq(&admin, 0), NVME_SC_INVALID_QID, "delete admin SQ");
  check_status(nvme_delete_cq(&admin, 7), NVME_SC_INVALID_QID, "delete missing CQ 7");
  memset(&c, 0, sizeof c);
  c.dw[0] = 0x55;
  c.dw[1] = 1;
  check_status(nvme_cmd(&io[1], &c, 0), NVME_SC_INVALID_OPCODE, "unknown I/O opcode");
  check_status(nvme_io(&io[1], NVME_IO_READ, nlb, 1, rbuf), NVME_SC_LBA_RANGE,
               "read at LBA NLB");
  check_status(nvme_io(&io[1], NVME_IO_READ, nlb - 1, 2, rbuf), NVME_SC_LBA_RANGE,
               "read across the end");
  check_status(nvme_io(&io[4], NVME_IO_WRITE, 1ull << 32, 1, wbuf), NVME_SC_LBA_RANGE,
               "write with SLBA high word set");
  putstr("nvme: error statuses ok\n");

  /* Data path through the queues that will survive. */
  write_read(&io[1], &io[1], 0, BUF_BLOCKS, 0x1111, "8 blocks at LBA 0 via SQ1");
  write_read(&io[4], &io[1], nlb - 1, 1, 0x4444, "last block via SQ4, read via SQ1");
  write_read(&io[2], &io[3], nlb / 2, 3, 0x2323, "3 blocks mid-disk via SQ2/SQ3");

  /* Leave holes: delete pair 2 and 3, recreate 2 with 16 entries, delete it again. */
  check_status(nvme_delete_sq(&admin, 2), 0, "delete SQ 2");
  check_status(nvme_delete_cq(&admin, 2), 0, "delete CQ 2");
  check_status(nvme_delete_sq(&admin, 3), 0, "delete SQ 3");
  check_status(nvme_delete_cq(&admin, 3), 0, "delete CQ 3");
  check_status(nvme_delete_sq(&admin, 2), NVME_SC_INVALID_QID, "delete SQ 2 twice");
  nvme_queue_t q2;
  nvme_queue_init(&q2, 2, big_sq, 16, big_cq, 16);
  check_status(nvme_create_cq(&admin, 2, big_cq, 16, 0), 0, "recreate CQ 2");
  check_status(nvme_create_sq(&admin, 2, big_sq, 16, 2), 0, "recreate SQ 2");
  write_read(&q2, &io[4], 16, 2, 0x2222, "2 blocks via recreated SQ2");
  check_status(nvme_delete_sq(&admin, 2), 0, "delete SQ 2 again");
  check_status(nvme_delete_cq(&admin, 2), 0, "delete CQ 2 again");
  putstr("nvme: deleted queue pairs 2 and 3 (holes), queues 1 and 4 remain\n");

  /* Data written earlier is still there. */
  memset(rbuf, 0, sizeof rbuf);
  check_status(nvme_io(&io[4], NVME_IO_READ, nlb / 2, 3, rbuf), 0, "reread mid-disk");
  check(verify(nlb / 2, 3, 0x2323), "mid-disk blocks survive queue deletion");

  /* Wrap SQ1/CQ1 (8 entries) several times: 40 single-block round trips. */
  for (uint32_t i = 0; i < 20; i++) {
    uint32_t lba = 8 + (i * 7) % 32;
    write_read(&io[1], &io[1], lba, 1, 0x5000 + i, "wrap round trip");
  }
  check(io[1].phase_flips >= 5, "CQ 1 phase flipped on wrap");
  /* Batch: several commands in flight on SQ4 before polling its CQ. */
  for (uint32_t i = 0; i < 6; i++) {
    nvme_sqe_t w;
    fill(40 + i, 1, 0x6000 + i);
    nvme_io_cmd(&w, NVME_IO_READ, 40 + i, 1, rbuf);
    nvme_submit(&io[4], &w);
    commands++;
  }
  uint32_t batch = 0;
  nvme_cqe_t done;
  for (uint32_t i = 0; i < 100000 && batch < 6; i++)
    if (nvme_poll(&io[4], &done)) {
      batch++;
      check(nvme_cqe_status(&done) == 0 && nvme_cqe_sqid(&done) == 4, "batched completion");
    }
  check(batch == 6, "6 batched completions on CQ 4");
  kprintf("nvme: data path ok, CQ1 phase flips %u, CQ4 phase flips %u\n", io[1].phase_flips,
          io[4].phase_flips);

  irq_test();

  check_status(nvme_io(&io[1], NVME_IO_FLUSH, 0, 0, 0), 0, "flush via SQ1");
  check_status(nvme_io(&io[4], NVME_IO_FLUSH, 0, 0, 0), 0, "flush via SQ4");
  putstr("nvme: flush ok\n");

  check(nvme_disable() == 0, "controller disable");
  kprintf("nvme: summary: %u commands, %u checks, %u failures: %s\n", commands, checks,
          failures, failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
