/**
 * The destination's half of postcopy (QEMU 7.2's loadvm_postcopy_handle_* and the listen
 * thread). While the stream loads: OPEN_RETURN_PATH, PING (answered with PONG), ADVISE (page
 * sizes checked), RAM_DISCARD (those pages count as not received), PACKAGED, LISTEN and RUN,
 * where the device state is committed and the load hands over. Then the guest runs at once:
 * RAM pages not received yet are marked absent in the emulator's RAM (Ram.markAbsent), and a
 * CPU access to one stops the vCPU before the instruction (PageAbsentError from the RAM hook);
 * the page is asked for over the return path (REQ_PAGES_ID, then REQ_PAGES), and the vCPU goes
 * on once it arrives. Meanwhile the rest of the stream (`ram` PART chunks, END, EOF) is read and
 * every page that arrives becomes present. Whatever the order pages arrive in, the guest only
 * ever sees the source's contents, so its run is the source's continuation, instruction for
 * instruction.
 *
 * If the stream breaks after RUN, the guest cannot go on here (its RAM is incomplete) nor on the
 * source: the load fails (QEMU 7.2 without postcopy-recover) with a TransportError saying so.
 * Device DMA into a page not yet received is not intercepted (only CPU accesses are): the
 * emulated devices DMA only into buffers the guest wrote first, which are present by then.
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { PAGE_SIZE, PageAbsentError } from "../../emu/ram.ts";
import {
  IncompatibleError,
  MigrationError,
  StreamFormatError,
  TransportError,
} from "../../migration/errors.ts";
import { MigCommand, SectionType } from "../../migration/sections/constants.ts";
import type { StreamReader } from "../../migration/stream/reader.ts";
import { RAM_SECTION_VERSION } from "../../migration/ram/ram_section.ts";
import { POSTCOPY_LOST } from "./postcopy_source.ts";
import {
  commandName,
  decodeDiscard,
  MAX_PACKAGED_SIZE,
} from "../../migration/sections/postcopy_commands.ts";
import { encodeRequest, encodeRp, RpMessage } from "./postcopy_wire.ts";

/** What the destination's postcopy phase did. */
export interface PostcopyIncomingReport {
  /** Pages absent when the guest started here. */
  absentAtStart: number;
  /** Page faults: accesses that stopped the vCPU for a page. */
  faults: number;
  /** Page requests sent over the return path. */
  requests: number;
  /** Cycles the guest ran here while pages were still arriving. */
  cycles: number;
  /** Wall-clock seconds the vCPU waited for requested pages. */
  waitSeconds: number;
}

/** How the destination runs during postcopy. */
export interface PostcopyRunOptions {
  /** Cycles per vCPU slice between turns for the stream (default 200,000). */
  sliceCycles?: number;
  /** Run the guest at most this many cycles here during postcopy (tests compare at a point). */
  maxCycles?: number;
  /** Started paused (QEMU's -S): RUN does not start the vCPU; the pages still all arrive. */
  paused?: boolean;
}

/** Where the destination's postcopy state machine is (QEMU's PostcopyState). */
type Phase = "none" | "advised" | "listening" | "running";

/** Handles the postcopy commands while a stream loads, then runs the guest while RAM arrives. */
export class PostcopyIncoming {
  private phase: Phase = "none";
  private returnPathOpen = false;
  private packageEnd = -1;
  private lastBlock: string | undefined;

  /**
   * @param machine the machine being loaded
   * @param send writes return-path bytes to the source (undefined: no return path, as file:)
   */
  constructor(
    private readonly machine: Machine,
    private readonly send: ((bytes: Uint8Array) => void) | undefined,
  ) {}

  /** True once RUN was seen: the load stopped there and {@link run} must follow. */
  get running(): boolean {
    return this.phase === "running";
  }

  /** The loader's onCommand hook (migration/sections/loadvm.ts). */
  readonly onCommand = (cmd: number, p: Uint8Array, at: number): "continue" | "quit" => {
    const bad = (why: string, path = "command") =>
      new StreamFormatError(`${commandName(cmd)}: ${why}`, { offset: at, path });
    const needLen = (n: number) => {
      if (p.length !== n) throw bad(`length ${p.length}, expected ${n}`, "command.length");
    };
    switch (cmd) {
      case MigCommand.OPEN_RETURN_PATH:
        needLen(0);
        // From a file (no return path) the stream is read whole: nothing is asked for.
        this.returnPathOpen = this.send !== undefined;
        return "continue";
      case MigCommand.PING: {
        needLen(4);
        const v = new DataView(p.buffer, p.byteOffset).getUint32(0);
        const pong = new Uint8Array(4);
        new DataView(pong.buffer).setUint32(0, v);
        if (this.returnPathOpen) this.send!(encodeRp(RpMessage.PONG, pong));
        return "continue";
      }
      case MigCommand.POSTCOPY_ADVISE: {
        if (this.phase !== "none") throw bad(`in postcopy state ${this.phase}`);
        if (p.length !== 0 && p.length !== 16) throw bad(`length ${p.length}`, "command.length");
        if (p.length === 16) {
          const v = new DataView(p.buffer, p.byteOffset);
          const summary = Number(v.getBigUint64(0)), target = Number(v.getBigUint64(8));
          if (summary !== PAGE_SIZE || target !== PAGE_SIZE) {
            throw new IncompatibleError(
              `Postcopy needs matching page sizes: source ${summary}/${target}, here ${PAGE_SIZE}`,
              { offset: at, path: "advise.pagesize" },
            );
          }
        }
        this.phase = "advised";
        return "continue";
      }
      case MigCommand.POSTCOPY_RAM_DISCARD: {
        if (this.phase !== "advised") throw bad(`in postcopy state ${this.phase}`);
        const d = decodeDiscard(p, at);
        for (const [start, len] of d.ranges) {
          this.machine.ramSection.discard(d.idstr, start, len, at);
        }
        return "continue";
      }
      case MigCommand.PACKAGED: {
        needLen(4);
        if (this.packageEnd >= 0) throw bad("a package inside a package");
        const len = new DataView(p.buffer, p.byteOffset).getUint32(0);
        if (len > MAX_PACKAGED_SIZE) {
          throw bad(`unreasonably large packaged state: ${len} bytes`, "packaged.length");
        }
        this.packageEnd = at + 5 + 4 + len;
        return "continue";
      }
      case MigCommand.POSTCOPY_LISTEN:
        needLen(0);
        if (this.phase !== "advised") throw bad(`in postcopy state ${this.phase}`);
        this.phase = "listening";
        return "continue";
      case MigCommand.POSTCOPY_RUN:
        needLen(0);
        if (this.phase !== "listening") throw bad(`in postcopy state ${this.phase}`);
        if (at + 5 !== this.packageEnd) {
          throw bad(
            `the package ends at ${this.packageEnd}, not with RUN at ${at}`,
            "packaged.length",
          );
        }
        this.phase = "running";
        return "quit";
      default:
        throw bad("unsupported migration command");
    }
  };

  /**
   * Run the guest while the rest of the stream arrives from `r` (after RUN); resolves when the
   * stream ended with EOF and every page is here. `ramSectionId` is the stream's id of `ram`.
   * Throws a TransportError saying the guest is lost when the stream breaks.
   */
  async run(
    r: StreamReader,
    ramSectionId: number,
    opts: PostcopyRunOptions = {},
  ): Promise<PostcopyIncomingReport> {
    const m = this.machine;
    const rs = m.ramSection;
    const ram = m.ram;
    const blocks = rs.loadingBlocks;
    const main = blocks.find((b) => b.bytes.buffer === ram.buffer);
    const report: PostcopyIncomingReport = {
      absentAtStart: 0,
      faults: 0,
      requests: 0,
      cycles: 0,
      waitSeconds: 0,
    };
    const recvOf = (idstr: string) => rs.receivedPages(idstr)!;
    if (main) {
      const recv = recvOf(main.idstr);
      const absent = new Uint32Array(recv.length);
      const pages = ram.pageCount;
      for (let p = 0; p < pages; p++) {
        if ((recv[p >>> 5] & (1 << (p & 31))) === 0) absent[p >>> 5] |= 1 << (p & 31);
      }
      ram.markAbsent(absent);
      m.cpu.invalidateCaches(); // the TLB must not hold absent pages
      report.absentAtStart = ram.absentPages;
    }
    let done = false;
    let failure: unknown;
    const news: { notify: (() => void) | null } = { notify: null };
    const arrived = () => {
      if (!main || ram.absent === null) return;
      const recv = recvOf(main.idstr);
      const a = ram.absent;
      for (let i = 0; i < a.length && ram.absent !== null; i++) {
        let got = a[i] & recv[i];
        while (got !== 0) {
          const low = got & -got;
          got ^= low;
          ram.markPresent((i << 5) + 31 - Math.clz32(low));
        }
      }
    };
    const request = (idstr: string, page: number) => {
      if (!this.send) return; // a file: the page comes later in the stream anyway
      report.requests++;
      const named = idstr !== this.lastBlock;
      this.lastBlock = idstr;
      this.send?.(encodeRequest({
        start: page * PAGE_SIZE,
        length: PAGE_SIZE,
        idstr: named ? idstr : undefined,
      }));
    };
    // Pages of the other blocks (ROM, flash) are asked for at once, before the guest runs.
    const missingOthers = () => {
      let n = 0;
      for (const b of blocks) {
        if (b === main) continue;
        const recv = recvOf(b.idstr);
        for (let p = 0; p < b.bytes.length / PAGE_SIZE; p++) {
          if ((recv[p >>> 5] & (1 << (p & 31))) === 0) n++;
        }
      }
      return n;
    };
    for (const b of blocks) {
      if (b === main) continue;
      const recv = recvOf(b.idstr);
      for (let p = 0; p < b.bytes.length / PAGE_SIZE; p++) {
        if ((recv[p >>> 5] & (1 << (p & 31))) === 0) request(b.idstr, p);
      }
    }
    const reading = (async () => {
      try {
        for (;;) {
          await r.ensure(1);
          const at = r.offset;
          const type = r.peekU8(0)!;
          if (type === SectionType.EOF) {
            r.skip(1);
            break;
          }
          if (type === SectionType.COMMAND) {
            await r.ensure(5);
            r.skip(1);
            const cmd = r.be16(), len = r.be16();
            await r.ensure(len);
            const payload = r.bytes(len);
            if (cmd !== MigCommand.PING) {
              throw new StreamFormatError(`${commandName(cmd)} during postcopy`, { offset: at });
            }
            this.onCommand(cmd, payload, at);
            continue;
          }
          if (type !== SectionType.PART && type !== SectionType.END) {
            throw new StreamFormatError(
              `Unexpected section type ${type} during postcopy (only ram chunks)`,
              { offset: at },
            );
          }
          await r.ensure(5);
          r.skip(1);
          const id = r.be32();
          if (id !== ramSectionId) {
            throw new StreamFormatError(`Section id ${id} during postcopy is not ram`, {
              offset: at,
            });
          }
          await rs.load(r, RAM_SECTION_VERSION, type === SectionType.END ? "end" : "part");
          await r.ensure(5);
          const f = r.u8(), fid = r.be32();
          if (f !== SectionType.FOOTER || fid !== ramSectionId) {
            throw new StreamFormatError("Missing section footer for ram", {
              offset: r.offset - 5,
              section: "ram",
            });
          }
          rs.keepLoaded();
          arrived();
          news.notify?.();
        }
        arrived();
        if (ram.absent !== null || missingOthers() > 0) {
          throw new StreamFormatError(
            `The postcopy stream ended with ${ram.absentPages + missingOthers()} pages never sent`,
            { offset: r.offset },
          );
        }
      } catch (e) {
        failure = e;
      } finally {
        done = true;
        news.notify?.();
      }
    })();
    const waitForNews = () =>
      new Promise<void>((resolve) => {
        news.notify = () => {
          news.notify = null;
          resolve();
        };
      });
    const startCycle = m.cpu.cycle;
    const stopAtCycle = opts.maxCycles === undefined ? undefined : startCycle + opts.maxCycles;
    const slice = Math.max(1, opts.sliceCycles ?? 200_000);
    try {
      while (!done && missingOthers() > 0) await waitForNews();
      while (!done && !opts.paused) {
        const left = stopAtCycle === undefined ? slice : stopAtCycle - m.cpu.cycle;
        if (left <= 0) {
          await reading;
          break;
        }
        try {
          const res = m.run(Math.min(slice, left));
          if (res.stop === "exit" || res.stop === "idle") {
            await reading;
            break;
          }
        } catch (e) {
          if (!(e instanceof PageAbsentError)) throw e;
          report.faults++;
          if (ram.isPresent(e.page * PAGE_SIZE)) continue;
          request(main!.idstr, e.page);
          const t = performance.now();
          while (!done && !ram.isPresent(e.page * PAGE_SIZE)) await waitForNews();
          report.waitSeconds += (performance.now() - t) / 1000;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await reading;
    } finally {
      report.cycles = m.cpu.cycle - startCycle;
    }
    if (failure) {
      ram.markAbsent(new Uint32Array(0));
      const why = failure instanceof MigrationError ? failure.message : String(failure);
      throw new TransportError(
        `postcopy failed after the guest started here: ${why}; ${POSTCOPY_LOST}`,
        failure instanceof MigrationError ? { offset: failure.offset } : {},
        { cause: failure },
      );
    }
    return report;
  }
}
