/**
 * snapshell's NVMe-style queue device, exactly as docs/devices/nvme.md specifies it: MMIO at
 * 0x10100000, PLIC source 12, an admin queue pair from AQA/ASQ/ACQ and up to eight I/O queue
 * pairs created and deleted by admin commands, 512-byte blocks on a disk image the machine
 * owns. Commands run synchronously inside the SQ tail doorbell store (and resume inside a CQ
 * head doorbell store when a full CQ had stalled them), so the device has no deadlines.
 *
 * Section `snapshell-nvme` v1 (no QEMU counterpart): registers, the SQ and CQ tables as
 * arrays of pointers with NULL holes (slot 0 = admin, 0x30/0x31 presence markers), and the
 * disk contents, which travel with the snapshot.
 *
 * Beyond the doc: a create SQ naming a CQ that does not exist completes with 0x100 (NVMe's
 * "completion queue invalid"), a queue base outside RAM with 0x002, a data buffer outside RAM
 * with 0x004 (NVMe's "data transfer error"); an SQ or CQ access outside RAM, or enabling with
 * an invalid admin queue, sets CSTS.CFS until the controller is disabled.
 *
 * @module
 */
import { StateValidationError } from "../../migration/errors.ts";
import {
  pointerArray,
  uint16,
  uint32,
  uint32Equal,
  uint64,
  uint8,
  vbuffer,
  vmsd,
} from "../../migration/vmstate/fields.ts";
import type { AccessSize, MmioDevice } from "../bus.ts";
import {
  type DeviceSection,
  inRange,
  type IrqLine,
  NO_IRQ,
  type SnapshotDevice,
  subword,
} from "./device.ts";

/** Size of the MMIO window (registers + doorbells); base and IRQ are the board's (emu/board.ts). */
export const NVME_SIZE = 0x2000;
/** Logical block size. */
export const NVME_BLOCK = 512;
/** Default disk size: 1 MiB = 2048 blocks. */
export const NVME_DEFAULT_DISK_SIZE = 1 << 20;
/** Highest I/O queue id (CAP bits 23:16). */
export const NVME_MAX_QID = 8;
/** Largest queue: MQES + 1 (CAP bits 15:0 = 63). */
export const NVME_MAX_QUEUE_SIZE = 64;
const SQE_SIZE = 64;
const CQE_SIZE = 16;

const REG_CAP = 0x00;
const REG_VS = 0x04;
const REG_CC = 0x14;
const REG_CSTS = 0x1c;
const REG_AQA = 0x24;
const REG_ASQ = 0x28;
const REG_ACQ = 0x30;
const REG_NLB = 0x40;
const DOORBELL_BASE = 0x1000;

const CAP = (NVME_MAX_QID << 16) | (NVME_MAX_QUEUE_SIZE - 1);
const VS = 0x0001_0000;
const CSTS_RDY = 0x1;
const CSTS_CFS = 0x2;

/** Completion status codes (docs/devices/nvme.md and NVMe 1.4). */
export const NvmeStatus = {
  SUCCESS: 0x000,
  INVALID_OPCODE: 0x001,
  INVALID_FIELD: 0x002,
  DATA_TRANSFER_ERROR: 0x004,
  LBA_RANGE: 0x080,
  INVALID_CQ: 0x100,
  INVALID_QID: 0x101,
  INVALID_QSIZE: 0x102,
  INVALID_QDELETE: 0x10c,
} as const;

const ADMIN_DELETE_SQ = 0x00;
const ADMIN_CREATE_SQ = 0x01;
const ADMIN_DELETE_CQ = 0x04;
const ADMIN_CREATE_CQ = 0x05;
const IO_FLUSH = 0x00;
const IO_WRITE = 0x01;
const IO_READ = 0x02;

/** Guest memory as the device sees it (the machine implements it over RAM, marking pages dirty). */
export interface DmaTarget {
  /** A copy of `len` bytes at guest physical `addr`; throws outside RAM. */
  read(addr: number, len: number): Uint8Array;
  /** Stores `bytes` at guest physical `addr`; throws outside RAM. */
  write(addr: number, bytes: Uint8Array): void;
}

/** A submission queue. */
export interface NvmeSq {
  /** Its id (= its slot). */
  sqid: number;
  /** The CQ its completions go to. */
  cqid: number;
  /** Entries (2..64). */
  size: number;
  /** Next entry the device fetches. */
  head: number;
  /** Last tail the host rang. */
  tail: number;
  /** Guest physical base. */
  base: bigint;
}

/** A completion queue. */
export interface NvmeCq {
  /** Its id (= its slot). */
  cqid: number;
  /** Entries (2..64). */
  size: number;
  /** Last head the host rang. */
  head: number;
  /** Next entry the device posts. */
  tail: number;
  /** Phase tag the device writes (starts at 1, flips on wrap). */
  phase: number;
  /** 1 when completions raise the interrupt. */
  ien: number;
  /** Guest physical base. */
  base: bigint;
}

/** The device's state. `ramBase`/`ramSize` are configuration, used to validate loads. */
export interface NvmeState {
  /** Controller configuration (bit 0 EN). */
  cc: number;
  /** Controller status (RDY, CFS). */
  csts: number;
  /** Admin queue attributes. */
  aqa: number;
  /** Admin SQ base. */
  asq: bigint;
  /** Admin CQ base. */
  acq: bigint;
  /** Submission queues by id, null where none exists. */
  sq: (NvmeSq | null)[];
  /** Completion queues by id, null where none exists. */
  cq: (NvmeCq | null)[];
  /** Disk size in bytes (configuration; must match on load). */
  diskSize: number;
  /** Disk contents. */
  disk: Uint8Array;
  /** First guest physical RAM address (configuration). */
  ramBase: number;
  /** RAM size in bytes (configuration). */
  ramSize: number;
}

/** Wiring of the device. */
export interface NvmeOptions {
  /** Guest memory for queue entries and data. */
  dma: DmaTarget;
  /** RAM window the queues and buffers must lie in. */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
  /**
   * Disk image (kept by reference until a load: a load swaps in another array, so read
   * `disk` again after one; default: 1 MiB of zeros). Length: a multiple of 512.
   */
  disk?: Uint8Array;
  /** PLIC source line (source 12). */
  irq?: IrqLine;
}

function emptyTable<T>(): (T | null)[] {
  return Array.from({ length: NVME_MAX_QID + 1 }, () => null);
}

class DmaFault extends Error {}

/** The NVMe-style queue device. */
export class NvmeQueueDevice implements MmioDevice, SnapshotDevice {
  /** Live state; `state.disk` is always the machine's disk array. */
  state: NvmeState;
  private readonly dma: DmaTarget;
  private readonly irq: IrqLine;
  /** Load target for the disk contents (see {@link stage}); swapped with the disk on commit. */
  private scratchDisk: Uint8Array | undefined;
  /** A committed record's disk array that `scratchDisk` holds the bytes of, untouched since. */
  private scratchEquals: Uint8Array | undefined;
  /** A committed record's disk array that the live disk holds the bytes of, unwritten since. */
  private diskEquals: Uint8Array | undefined;

  constructor(opts: NvmeOptions) {
    const disk = opts.disk ?? new Uint8Array(NVME_DEFAULT_DISK_SIZE);
    if (disk.length % NVME_BLOCK !== 0 || disk.length === 0) {
      throw new RangeError(`Disk size ${disk.length} is not a positive multiple of 512`);
    }
    this.dma = opts.dma;
    this.irq = opts.irq ?? NO_IRQ;
    this.state = {
      cc: 0,
      csts: 0,
      aqa: 0,
      asq: 0n,
      acq: 0n,
      sq: emptyTable(),
      cq: emptyTable(),
      diskSize: disk.length,
      disk,
      ramBase: opts.ramBase,
      ramSize: opts.ramSize,
    };
  }

  /** The disk image (a load may swap in another array: do not keep it across loads). */
  get disk(): Uint8Array {
    this.diskEquals = undefined; // whoever asks may write it
    return this.state.disk;
  }

  /** Disk size in blocks (the NLB register). */
  get blocks(): number {
    return this.state.diskSize / NVME_BLOCK;
  }

  /** Controller reset: registers cleared, queues gone; the disk is kept. */
  reset(): void {
    const s = this.state;
    s.cc = 0;
    s.csts = 0;
    s.aqa = 0;
    s.asq = 0n;
    s.acq = 0n;
    this.dropQueues();
  }

  // ---- MMIO ----

  /** Register read (doorbells read 0). */
  read(offset: number, size: AccessSize): number {
    const s = this.state;
    let v = 0;
    switch (offset & ~3) {
      case REG_CAP:
        v = CAP;
        break;
      case REG_VS:
        v = VS;
        break;
      case REG_CC:
        v = s.cc;
        break;
      case REG_CSTS:
        v = s.csts;
        break;
      case REG_AQA:
        v = s.aqa;
        break;
      case REG_ASQ:
      case REG_ASQ + 4:
      case REG_ACQ:
      case REG_ACQ + 4: {
        const r = (offset & ~7) === REG_ASQ ? s.asq : s.acq;
        v = Number(offset & 4 ? r >> 32n : r & 0xffffffffn);
        break;
      }
      case REG_NLB:
        v = this.blocks;
        break;
    }
    return subword(v, offset, size);
  }

  /** Register or doorbell write (aligned 32-bit only). */
  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || offset & 3) return;
    const s = this.state;
    const v = value >>> 0;
    if (offset >= DOORBELL_BASE && offset < DOORBELL_BASE + 8 * (NVME_MAX_QID + 1)) {
      const qid = (offset - DOORBELL_BASE) >> 3;
      if (offset & 4) this.cqDoorbell(qid, v);
      else this.sqDoorbell(qid, v);
      this.updateIrq();
      return;
    }
    switch (offset) {
      case REG_CC:
        this.writeCc(v & 1);
        break;
      case REG_AQA:
        s.aqa = v & 0x0fff_0fff;
        break;
      case REG_ASQ:
      case REG_ASQ + 4:
      case REG_ACQ:
      case REG_ACQ + 4: {
        const isSq = (offset & ~7) === REG_ASQ;
        const old = isSq ? s.asq : s.acq;
        const word = BigInt(v);
        const next = offset & 4 ? (word << 32n) | (old & 0xffffffffn) : (old & ~0xffffffffn) | word;
        if (isSq) s.asq = next;
        else s.acq = next;
        break;
      }
    }
  }

  private writeCc(en: number): void {
    const s = this.state;
    const was = s.cc & 1;
    s.cc = en;
    if (was && !en) {
      this.dropQueues();
      s.csts = 0;
    } else if (!was && en) {
      const sqSize = (s.aqa & 0xfff) + 1;
      const cqSize = ((s.aqa >>> 16) & 0xfff) + 1;
      if (
        !validSize(sqSize) || !validSize(cqSize) ||
        !this.inRam(s.asq, sqSize * SQE_SIZE) || !this.inRam(s.acq, cqSize * CQE_SIZE)
      ) {
        s.csts = CSTS_CFS;
        return;
      }
      s.sq[0] = { sqid: 0, cqid: 0, size: sqSize, head: 0, tail: 0, base: s.asq };
      s.cq[0] = { cqid: 0, size: cqSize, head: 0, tail: 0, phase: 1, ien: 1, base: s.acq };
      s.csts = CSTS_RDY;
    }
    this.updateIrq();
  }

  private dropQueues(): void {
    this.state.sq = emptyTable();
    this.state.cq = emptyTable();
    this.updateIrq();
  }

  private inRam(base: bigint, len: number): boolean {
    const s = this.state;
    const lo = BigInt(s.ramBase);
    return base >= lo && base + BigInt(len) <= lo + BigInt(s.ramSize);
  }

  private running(): boolean {
    return (this.state.csts & (CSTS_RDY | CSTS_CFS)) === CSTS_RDY;
  }

  private sqDoorbell(qid: number, tail: number): void {
    const sq = this.state.sq[qid];
    if (!this.running() || !sq || tail >= sq.size) return; // invalid doorbell: ignored
    sq.tail = tail;
    this.process(sq);
  }

  private cqDoorbell(qid: number, head: number): void {
    const cq = this.state.cq[qid];
    if (!this.running() || !cq || head >= cq.size) return;
    cq.head = head;
    // Commands stalled on this full CQ can run now.
    for (const sq of this.state.sq) {
      if (sq && sq.cqid === qid && sq.head !== sq.tail) this.process(sq);
    }
  }

  /** Fetch, execute and complete commands from `sq.head` up to `sq.tail`. */
  private process(sq: NvmeSq): void {
    const s = this.state;
    try {
      while (this.running() && s.sq[sq.sqid] === sq && sq.head !== sq.tail) {
        const cq = s.cq[sq.cqid];
        if (!cq || (cq.tail + 1) % cq.size === cq.head) return; // full: resume on CQ doorbell
        const sqe = this.dmaRead(sq.base + BigInt(sq.head * SQE_SIZE), SQE_SIZE);
        sq.head = (sq.head + 1) % sq.size;
        const dw = new DataView(sqe.buffer, sqe.byteOffset, SQE_SIZE);
        const d = (i: number) => dw.getUint32(i * 4, true);
        const status = sq.sqid === 0 ? this.admin(d) : this.io(d);
        this.complete(cq, sq, d(0) >>> 16, status);
      }
    } catch (e) {
      if (!(e instanceof DmaFault)) throw e;
      s.csts |= CSTS_CFS;
    }
  }

  private complete(cq: NvmeCq, sq: NvmeSq, cid: number, status: number): void {
    const cqe = new Uint8Array(CQE_SIZE);
    const dw = new DataView(cqe.buffer);
    dw.setUint32(8, (sq.head | (sq.sqid << 16)) >>> 0, true);
    dw.setUint32(12, (cid | (cq.phase << 16) | (status << 17)) >>> 0, true);
    this.dmaWrite(cq.base + BigInt(cq.tail * CQE_SIZE), cqe);
    cq.tail = (cq.tail + 1) % cq.size;
    if (cq.tail === 0) cq.phase ^= 1;
  }

  private dmaRead(addr: bigint, len: number): Uint8Array {
    if (!this.inRam(addr, len)) throw new DmaFault();
    return this.dma.read(Number(addr), len);
  }

  private dmaWrite(addr: bigint, bytes: Uint8Array): void {
    if (!this.inRam(addr, bytes.length)) throw new DmaFault();
    this.dma.write(Number(addr), bytes);
  }

  private admin(d: (i: number) => number): number {
    const s = this.state;
    const opcode = d(0) & 0xff;
    const qid = d(10) & 0xffff;
    const qsize = (d(10) >>> 16) + 1;
    switch (opcode) {
      case ADMIN_CREATE_CQ:
      case ADMIN_CREATE_SQ: {
        const isCq = opcode === ADMIN_CREATE_CQ;
        const table = isCq ? s.cq : s.sq;
        if (qid === 0 || qid > NVME_MAX_QID || table[qid]) return NvmeStatus.INVALID_QID;
        if (!validSize(qsize)) return NvmeStatus.INVALID_QSIZE;
        const base = BigInt(d(6));
        if (!this.inRam(base, qsize * (isCq ? CQE_SIZE : SQE_SIZE))) {
          return NvmeStatus.INVALID_FIELD;
        }
        if (isCq) {
          const ien = (d(11) >>> 1) & 1;
          s.cq[qid] = { cqid: qid, size: qsize, head: 0, tail: 0, phase: 1, ien, base };
        } else {
          const cqid = d(11) >>> 16;
          if (cqid === 0 || cqid > NVME_MAX_QID || !s.cq[cqid]) return NvmeStatus.INVALID_CQ;
          s.sq[qid] = { sqid: qid, cqid, size: qsize, head: 0, tail: 0, base };
        }
        return NvmeStatus.SUCCESS;
      }
      case ADMIN_DELETE_SQ:
        if (qid === 0 || qid > NVME_MAX_QID || !s.sq[qid]) return NvmeStatus.INVALID_QID;
        s.sq[qid] = null;
        return NvmeStatus.SUCCESS;
      case ADMIN_DELETE_CQ:
        if (qid === 0 || qid > NVME_MAX_QID || !s.cq[qid]) return NvmeStatus.INVALID_QID;
        if (s.sq.some((q) => q && q.cqid === qid)) return NvmeStatus.INVALID_QDELETE;
        s.cq[qid] = null;
        return NvmeStatus.SUCCESS;
      default:
        return NvmeStatus.INVALID_OPCODE;
    }
  }

  private io(d: (i: number) => number): number {
    const opcode = d(0) & 0xff;
    if (opcode === IO_FLUSH) return NvmeStatus.SUCCESS;
    if (opcode !== IO_WRITE && opcode !== IO_READ) return NvmeStatus.INVALID_OPCODE;
    const slba = d(10);
    const nlb = (d(12) & 0xffff) + 1;
    if (d(11) !== 0 || slba + nlb > this.blocks) return NvmeStatus.LBA_RANGE;
    const prp = BigInt(d(6));
    const len = nlb * NVME_BLOCK;
    if (!this.inRam(prp, len)) return NvmeStatus.DATA_TRANSFER_ERROR;
    const off = slba * NVME_BLOCK;
    if (opcode === IO_WRITE) {
      this.state.disk.set(this.dmaRead(prp, len), off);
      this.diskEquals = undefined;
    } else this.dmaWrite(prp, this.state.disk.subarray(off, off + len));
    return NvmeStatus.SUCCESS;
  }

  /** High while an interrupt-enabled CQ holds entries the host has not consumed. */
  irqLevel(): boolean {
    return this.state.cq.some((cq) => cq !== null && cq.ien === 1 && cq.tail !== cq.head);
  }

  private updateIrq(): void {
    this.irq(this.irqLevel());
  }

  // ---- snapshot ----

  /** Section `snapshell-nvme`. */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateNvme,
      state: () => this.state,
      stage: () => this.stage(),
      commit: (staged: NvmeState) => this.commit(staged),
    }];
  }

  /**
   * A copy of the record for a load to decode into: the disk is a scratch buffer of the same
   * size (the load overwrites all of it), not a fresh copy per load.
   */
  stage(): NvmeState {
    const s = this.state;
    const disk = s.disk;
    if (this.scratchDisk?.length !== disk.length) this.scratchDisk = new Uint8Array(disk.length);
    this.scratchEquals = undefined; // handed out to be written
    return {
      cc: s.cc,
      csts: s.csts,
      aqa: s.aqa,
      asq: s.asq,
      acq: s.acq,
      sq: s.sq.map((q) => q && { ...q }),
      cq: s.cq.map((q) => q && { ...q }),
      diskSize: s.diskSize,
      disk: this.scratchDisk,
      ramBase: s.ramBase,
      ramSize: s.ramSize,
    };
  }

  /**
   * Adopts a validated record. A load's disk (the scratch of {@link stage}) is swapped in, the
   * old disk becoming the scratch; another record's disk bytes are copied into the machine's
   * array, unless the array to swap back in still holds exactly them (a reused machine
   * committing its reset record after a load: no megabyte moves). A committed record's disk
   * must not change afterwards.
   */
  commit(staged: NvmeState): void {
    const old = this.state.disk;
    let disk = old;
    if (staged.disk === this.scratchDisk && staged.disk !== old) {
      disk = staged.disk;
      this.scratchDisk = old;
      this.scratchEquals = this.diskEquals;
      this.diskEquals = undefined;
    } else if (staged.disk !== old) {
      if (this.scratchEquals === staged.disk && this.scratchDisk!.length === old.length) {
        disk = this.scratchDisk!;
        this.scratchDisk = old;
        this.scratchEquals = undefined;
      } else {
        disk.set(staged.disk);
      }
      this.diskEquals = staged.disk;
    }
    this.state = { ...staged, disk };
    this.updateIrq();
  }
}

function validSize(n: number): boolean {
  return n >= 2 && n <= NVME_MAX_QUEUE_SIZE;
}

// ---- migration ----

/** One submission queue (an element of `sq`). */
export const vmstateNvmeSq = vmsd<NvmeSq>({
  name: "snapshell-nvme-sq",
  versionId: 1,
  minimumVersionId: 1,
  fields: [
    uint16("sqid"),
    uint16("cqid"),
    uint16("size"),
    uint16("head"),
    uint16("tail"),
    uint64("base"),
  ],
});

/** One completion queue (an element of `cq`). */
export const vmstateNvmeCq = vmsd<NvmeCq>({
  name: "snapshell-nvme-cq",
  versionId: 1,
  minimumVersionId: 1,
  fields: [
    uint16("cqid"),
    uint16("size"),
    uint16("head"),
    uint16("tail"),
    uint8("phase"),
    uint8("ien"),
    uint64("base"),
  ],
});

function bad(reason: string): never {
  throw new StateValidationError(reason);
}

function checkRange(s: NvmeState, what: string, base: bigint, len: number): void {
  const lo = BigInt(s.ramBase);
  if (base < lo || base + BigInt(len) > lo + BigInt(s.ramSize)) {
    bad(`${what} base 0x${base.toString(16)} (+${len} bytes) is outside RAM`);
  }
}

/** Checks of a loaded record (CVE-2013-4150/4151, CVE-2013-6399 classes: ids, sizes, indices). */
function validateNvme(s: NvmeState): void {
  if (!inRange(s.cc, 0, 1)) bad(`CC ${s.cc} has bits other than EN`);
  if (!inRange(s.csts, 0, CSTS_RDY | CSTS_CFS)) bad(`CSTS ${s.csts} has unknown bits`);
  if (s.csts & CSTS_RDY && !s.cc) bad("CSTS.RDY is set while CC.EN is clear");
  if ((s.aqa & ~0x0fff_0fff) !== 0) bad(`AQA 0x${s.aqa.toString(16)} has reserved bits`);
  const ready = (s.csts & CSTS_RDY) !== 0;
  if (ready !== (s.sq[0] !== null) || ready !== (s.cq[0] !== null)) {
    bad("The admin queue pair must exist exactly while CSTS.RDY is set");
  }
  for (let q = 0; q <= NVME_MAX_QID; q++) {
    const cq = s.cq[q];
    if (!cq) continue;
    if (cq.cqid !== q) bad(`cq[${q}] says it is CQ ${cq.cqid}`);
    if (!validSize(cq.size)) bad(`cq[${q}] size ${cq.size} is outside 2..64`);
    if (cq.head >= cq.size || cq.tail >= cq.size) {
      bad(`cq[${q}] head ${cq.head} / tail ${cq.tail} not below size ${cq.size}`);
    }
    if (!inRange(cq.phase, 0, 1)) bad(`cq[${q}] phase ${cq.phase} is not 0 or 1`);
    if (!inRange(cq.ien, 0, 1)) bad(`cq[${q}] ien ${cq.ien} is not 0 or 1`);
    if (q === 0 && cq.ien !== 1) bad("The admin CQ must have interrupts enabled");
    checkRange(s, `cq[${q}]`, cq.base, cq.size * CQE_SIZE);
  }
  for (let q = 0; q <= NVME_MAX_QID; q++) {
    const sq = s.sq[q];
    if (!sq) continue;
    if (sq.sqid !== q) bad(`sq[${q}] says it is SQ ${sq.sqid}`);
    if (!validSize(sq.size)) bad(`sq[${q}] size ${sq.size} is outside 2..64`);
    if (sq.head >= sq.size || sq.tail >= sq.size) {
      bad(`sq[${q}] head ${sq.head} / tail ${sq.tail} not below size ${sq.size}`);
    }
    if (q === 0 ? sq.cqid !== 0 : sq.cqid === 0 || sq.cqid > NVME_MAX_QID) {
      bad(`sq[${q}] posts to CQ ${sq.cqid}, which it may not use`);
    }
    if (!s.cq[sq.cqid]) bad(`sq[${q}] posts to CQ ${sq.cqid}, which does not exist`);
    checkRange(s, `sq[${q}]`, sq.base, sq.size * SQE_SIZE);
  }
}

/** Section `snapshell-nvme` v1. */
export const vmstateNvme = vmsd<NvmeState>({
  name: "snapshell-nvme",
  versionId: 1,
  minimumVersionId: 1,
  fields: [
    uint32("cc"),
    uint32("csts"),
    uint32("aqa"),
    uint64("asq"),
    uint64("acq"),
    pointerArray("sq", vmstateNvmeSq, { num: NVME_MAX_QID + 1, autoAlloc: true }),
    pointerArray("cq", vmstateNvmeCq, { num: NVME_MAX_QID + 1, autoAlloc: true }),
    uint32Equal("disk_size", { key: "diskSize", errHint: "the disk sizes differ" }),
    vbuffer("disk", "diskSize"),
  ],
  postLoad(s) {
    validateNvme(s);
  },
});
