/* Driver helpers for snapshell's NVMe-style queue device (docs/devices/nvme.md). */
#include "nvme.h"

#define NVME_SPIN_LIMIT 1000000u

int nvme_present(void) {
  uint32_t vs;
  return rt_probe_r32(NVME_BASE + NVME_VS, &vs) && vs == NVME_VS_EXPECTED;
}

static int wait_rdy(uint32_t want) {
  for (uint32_t i = 0; i < NVME_SPIN_LIMIT; i++) {
    uint32_t csts = nvme_r32(NVME_CSTS);
    if (csts & NVME_CSTS_CFS) return -2;
    if ((csts & NVME_CSTS_RDY) == want) return 0;
  }
  return -1;
}

int nvme_disable(void) {
  nvme_w32(NVME_CC, 0);
  return wait_rdy(0);
}

void nvme_queue_init(nvme_queue_t *q, uint16_t qid, void *sq, uint16_t sq_size, void *cq,
                     uint16_t cq_size) {
  memset(sq, 0, (uint32_t)sq_size * sizeof(nvme_sqe_t));
  memset(cq, 0, (uint32_t)cq_size * sizeof(nvme_cqe_t));
  q->sq = sq;
  q->cq = cq;
  q->qid = qid;
  q->sq_size = sq_size;
  q->cq_size = cq_size;
  q->sq_tail = 0;
  q->cq_head = 0;
  q->next_cid = (uint16_t)(qid << 12); /* distinct CIDs per queue make mix-ups visible */
  q->phase = 1;
  q->phase_flips = 0;
}

int nvme_enable(nvme_queue_t *admin, void *sq, uint16_t sq_size, void *cq, uint16_t cq_size) {
  int r = nvme_disable();
  if (r) return r;
  nvme_queue_init(admin, 0, sq, sq_size, cq, cq_size);
  nvme_w32(NVME_AQA, ((uint32_t)(cq_size - 1) << 16) | (uint32_t)(sq_size - 1));
  nvme_w32(NVME_ASQ, (uint32_t)sq);
  nvme_w32(NVME_ACQ, (uint32_t)cq);
  fence();
  nvme_w32(NVME_CC, 1);
  return wait_rdy(1);
}

uint16_t nvme_submit(nvme_queue_t *q, nvme_sqe_t *cmd) {
  uint16_t cid = q->next_cid++;
  cmd->dw[0] = (cmd->dw[0] & 0xffu) | ((uint32_t)cid << 16);
  volatile nvme_sqe_t *slot = &q->sq[q->sq_tail];
  for (int i = 0; i < 16; i++) slot->dw[i] = cmd->dw[i];
  q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->sq_size);
  fence();
  nvme_w32(NVME_SQ_DB(q->qid), q->sq_tail);
  return cid;
}

int nvme_poll(nvme_queue_t *q, nvme_cqe_t *out) {
  volatile nvme_cqe_t *e = &q->cq[q->cq_head];
  uint32_t dw3 = e->dw[3];
  if (((dw3 >> 16) & 1u) != q->phase) return 0;
  fence();
  out->dw[0] = e->dw[0];
  out->dw[1] = e->dw[1];
  out->dw[2] = e->dw[2];
  out->dw[3] = dw3;
  q->cq_head = (uint16_t)(q->cq_head + 1);
  if (q->cq_head == q->cq_size) {
    q->cq_head = 0;
    q->phase ^= 1;
    q->phase_flips++;
  }
  nvme_w32(NVME_CQ_DB(q->qid), q->cq_head);
  return 1;
}

uint32_t nvme_cmd(nvme_queue_t *q, nvme_sqe_t *cmd, uint32_t *result) {
  uint16_t cid = nvme_submit(q, cmd);
  nvme_cqe_t c;
  for (uint32_t i = 0; i < NVME_SPIN_LIMIT; i++) {
    if (nvme_poll(q, &c)) {
      if (nvme_cqe_cid(&c) != cid || nvme_cqe_sqid(&c) != q->qid) return NVME_SC_MISMATCH;
      if (result) *result = c.dw[0];
      return nvme_cqe_status(&c);
    }
  }
  return NVME_SC_TIMEOUT;
}

static void cmd_clear(nvme_sqe_t *c, uint8_t opcode) {
  for (int i = 0; i < 16; i++) c->dw[i] = 0;
  c->dw[0] = opcode;
  c->dw[1] = 1; /* NSID */
}

uint32_t nvme_create_cq(nvme_queue_t *admin, uint16_t qid, void *base, uint16_t size, int ien) {
  nvme_sqe_t c;
  cmd_clear(&c, NVME_ADMIN_CREATE_CQ);
  c.dw[6] = (uint32_t)base;
  c.dw[10] = (uint32_t)qid | ((uint32_t)(size - 1) << 16);
  c.dw[11] = ien ? 0x2u : 0u;
  return nvme_cmd(admin, &c, 0);
}

uint32_t nvme_create_sq(nvme_queue_t *admin, uint16_t qid, void *base, uint16_t size,
                        uint16_t cqid) {
  nvme_sqe_t c;
  cmd_clear(&c, NVME_ADMIN_CREATE_SQ);
  c.dw[6] = (uint32_t)base;
  c.dw[10] = (uint32_t)qid | ((uint32_t)(size - 1) << 16);
  c.dw[11] = (uint32_t)cqid << 16;
  return nvme_cmd(admin, &c, 0);
}

uint32_t nvme_delete_sq(nvme_queue_t *admin, uint16_t qid) {
  nvme_sqe_t c;
  cmd_clear(&c, NVME_ADMIN_DELETE_SQ);
  c.dw[10] = qid;
  return nvme_cmd(admin, &c, 0);
}

uint32_t nvme_delete_cq(nvme_queue_t *admin, uint16_t qid) {
  nvme_sqe_t c;
  cmd_clear(&c, NVME_ADMIN_DELETE_CQ);
  c.dw[10] = qid;
  return nvme_cmd(admin, &c, 0);
}

void nvme_io_cmd(nvme_sqe_t *c, uint8_t opcode, uint64_t slba, uint32_t nblocks, void *buf) {
  cmd_clear(c, opcode);
  c->dw[6] = (uint32_t)buf;
  c->dw[10] = (uint32_t)slba;
  c->dw[11] = (uint32_t)(slba >> 32);
  c->dw[12] = nblocks ? (nblocks - 1) & 0xffffu : 0;
}

uint32_t nvme_io(nvme_queue_t *q, uint8_t opcode, uint64_t slba, uint32_t nblocks, void *buf) {
  nvme_sqe_t c;
  nvme_io_cmd(&c, opcode, slba, nblocks, buf);
  return nvme_cmd(q, &c, 0);
}
