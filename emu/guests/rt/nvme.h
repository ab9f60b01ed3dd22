/* Driver helpers for snapshell's NVMe-style queue device (docs/devices/nvme.md). */
#ifndef SNAPSHELL_NVME_H
#define SNAPSHELL_NVME_H

#include "rt.h"

#define NVME_CAP 0x00
#define NVME_VS 0x04
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_NLB 0x40
#define NVME_SQ_DB(q) (0x1000u + 8u * (q))
#define NVME_CQ_DB(q) (0x1000u + 8u * (q) + 4u)

#define NVME_VS_EXPECTED 0x00010000u
#define NVME_CSTS_RDY 0x1u
#define NVME_CSTS_CFS 0x2u

#define NVME_ADMIN_DELETE_SQ 0x00
#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_DELETE_CQ 0x04
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_IO_FLUSH 0x00
#define NVME_IO_WRITE 0x01
#define NVME_IO_READ 0x02

#define NVME_SC_SUCCESS 0x000
#define NVME_SC_INVALID_OPCODE 0x001
#define NVME_SC_INVALID_FIELD 0x002
#define NVME_SC_LBA_RANGE 0x080
#define NVME_SC_INVALID_QID 0x101
#define NVME_SC_INVALID_QSIZE 0x102
#define NVME_SC_INVALID_QDELETE 0x10c
#define NVME_SC_TIMEOUT 0xffffu /* driver-side: no completion arrived */
#define NVME_SC_MISMATCH 0xfffeu /* driver-side: completion for another CID/SQID */

#define NVME_BLOCK 512u

typedef struct {
  uint32_t dw[16];
} nvme_sqe_t;

typedef struct {
  uint32_t dw[4];
} nvme_cqe_t;

/* One submission queue and the completion queue it posts to (paired 1:1 here). */
typedef struct {
  volatile nvme_sqe_t *sq;
  volatile nvme_cqe_t *cq;
  uint16_t qid;
  uint16_t sq_size;
  uint16_t cq_size;
  uint16_t sq_tail;
  uint16_t cq_head;
  uint16_t next_cid;
  uint8_t phase;
  uint32_t phase_flips; /* times the expected phase inverted (CQ wraps seen) */
} nvme_queue_t;

static inline uint32_t nvme_r32(uint32_t off) { return mmio_r32(NVME_BASE + off); }
static inline void nvme_w32(uint32_t off, uint32_t v) { mmio_w32(NVME_BASE + off, v); }

/* 1 when the device answers with the expected version. */
int nvme_present(void);
/* Disable, program the admin queues, enable; 0 on success. */
int nvme_enable(nvme_queue_t *admin, void *sq, uint16_t sq_size, void *cq, uint16_t cq_size);
/* Clear CC.EN and wait for CSTS.RDY to drop; 0 on success. */
int nvme_disable(void);
void nvme_queue_init(nvme_queue_t *q, uint16_t qid, void *sq, uint16_t sq_size, void *cq,
                     uint16_t cq_size);
/* Copy the command into the SQ (CID assigned here, returned) and ring the tail doorbell. */
uint16_t nvme_submit(nvme_queue_t *q, nvme_sqe_t *cmd);
/* Consume one completion if the phase bit says one is there: 1 if so. */
int nvme_poll(nvme_queue_t *q, nvme_cqe_t *out);
/* Submit and poll for the matching completion; returns the status field (0 = success). */
uint32_t nvme_cmd(nvme_queue_t *q, nvme_sqe_t *cmd, uint32_t *result);

uint32_t nvme_create_cq(nvme_queue_t *admin, uint16_t qid, void *base, uint16_t size, int ien);
uint32_t nvme_create_sq(nvme_queue_t *admin, uint16_t qid, void *base, uint16_t size,
                        uint16_t cqid);
uint32_t nvme_delete_sq(nvme_queue_t *admin, uint16_t qid);
uint32_t nvme_delete_cq(nvme_queue_t *admin, uint16_t qid);
void nvme_io_cmd(nvme_sqe_t *cmd, uint8_t opcode, uint64_t slba, uint32_t nblocks, void *buf);
uint32_t nvme_io(nvme_queue_t *q, uint8_t opcode, uint64_t slba, uint32_t nblocks, void *buf);

static inline uint32_t nvme_cqe_status(const nvme_cqe_t *c) { return c->dw[3] >> 17; }
static inline uint32_t nvme_cqe_cid(const nvme_cqe_t *c) { return c->dw[3] & 0xffffu; }
static inline uint32_t nvme_cqe_sqid(const nvme_cqe_t *c) { return c->dw[2] >> 16; }
static inline uint32_t nvme_cqe_sqhd(const nvme_cqe_t *c) { return c->dw[2] & 0xffffu; }

#endif
