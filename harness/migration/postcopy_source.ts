/**
 * The source's half of postcopy (QEMU 7.2's postcopy_start and the postcopy iterations): with
 * the guest stopped, MIG_CMD_POSTCOPY_RAM_DISCARD for every page still dirty, PING 2, then
 * MIG_CMD_PACKAGED holding LISTEN, every device's FULL section, PING 3 and RUN, then PING 4; the
 * destination runs from there. Pages then go in `ram` PART chunks: those the destination asks
 * for over the return path (REQ_PAGES / REQ_PAGES_ID) first, the background push in between;
 * an END chunk and EOF close the stream, and the destination's SHUT ends it.
 *
 * From the switch-over on, the source's RAM is no longer the guest's: if the link drops, the
 * guest can continue on neither side. This is QEMU 7.2 without `postcopy-recover`: the
 * migration fails, the source stays stopped and says why (no resume, no silent loss).
 * @module
 */
import type { Machine } from "../../emu/machine.ts";
import { MigrationError, TransportError } from "../../migration/errors.ts";
import { MigCommand, RamFlag, SectionType } from "../../migration/sections/constants.ts";
import {
  type SaveOptions,
  writeDeviceSections,
  writeSectionFooter,
  writeSectionHeader,
} from "../../migration/sections/savevm.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import {
  discardPayloads,
  pingPayload,
  writeCommand,
} from "../../migration/sections/postcopy_commands.ts";
import { type PageRequest, ReturnPathReader } from "./postcopy_wire.ts";
import type { MigrationStatus } from "./status.ts";
import type { Outgoing } from "./transport.ts";

/** Pages per background chunk: requests wait at most this long behind the push. */
export const POSTCOPY_CHUNK_PAGES = 64;

/** Why the guest is lost when a postcopy link drops (printed by both sides). */
export const POSTCOPY_LOST =
  "the guest cannot continue on either side (QEMU 7.2 without postcopy-recover: failed)";

/** Postcopy figures of a migration (QEMU's postcopy-requests and our phase counters). */
export interface PostcopyStatus {
  /** Pages the destination asked for over the return path (QEMU's postcopy-requests). */
  requests: number;
  /** Of those, pages still pending and sent at once (others had gone already). */
  requestedPagesSent: number;
  /** Pages pushed in the background after the switch-over. */
  pushedPages: number;
  /** Pages the DISCARD commands named. */
  discardedPages: number;
  /** Stream bytes from the switch-over to the end. */
  bytes: number;
}

/**
 * Run the postcopy phase on `machine` (stopped) into `w`, whose transport has a return path.
 * Updates `status` (postcopy-active, completed or failed); never resumes the guest.
 */
export async function postcopyPhase(
  machine: Machine,
  w: StreamWriter,
  out: Outgoing,
  opts: SaveOptions,
  status: MigrationStatus,
  bandwidth: number,
): Promise<void> {
  const rp = out.returnPath;
  if (!rp) throw new TypeError("postcopy needs a transport with a return path");
  const ram = machine.ramSection;
  const entry = machine.registry.ordered().find((e) => e.iterative === ram);
  if (!entry) throw new TypeError("postcopy: the machine has no ram section");
  const pc: PostcopyStatus = {
    requests: 0,
    requestedPagesSent: 0,
    pushedPages: 0,
    discardedPages: 0,
    bytes: 0,
  };
  status.postcopy = pc;
  status.state = "postcopy-active";
  const stopAt = w.offset;
  // Discard what the destination holds but the guest has changed since (QEMU's discard bitmap).
  for (const { idstr, ranges } of ram.startPostcopy()) {
    for (const [, len] of ranges) pc.discardedPages += len / ram.pageSize;
    for (const p of discardPayloads(idstr, ranges)) {
      writeCommand(w, MigCommand.POSTCOPY_RAM_DISCARD, p);
    }
  }
  writeCommand(w, MigCommand.PING, pingPayload(2));
  const pkg = new StreamWriter(undefined, 256 * 1024);
  writeCommand(pkg, MigCommand.POSTCOPY_LISTEN);
  await writeDeviceSections(pkg, machine.registry, opts);
  writeCommand(pkg, MigCommand.PING, pingPayload(3));
  writeCommand(pkg, MigCommand.POSTCOPY_RUN);
  const blob = pkg.take();
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, blob.length);
  writeCommand(w, MigCommand.PACKAGED, len);
  w.bytes(blob);
  writeCommand(w, MigCommand.PING, pingPayload(4));
  await w.flush();
  // The guest was stopped from the switch-over until RUN reached the destination.
  status.downtimeMs = (w.offset - stopAt) / bandwidth * 1000;
  status.switchoverInstret = machine.cpu.instret;

  const queue: PageRequest[] = [];
  const waiter: { wake: (() => void) | null } = { wake: null };
  let shut: number | null = null;
  let rpError: unknown;
  let lastBlock: string | undefined;
  const reader = new ReturnPathReader({ read: (b) => rp.read(b) }, status.uri);
  const listening = (async () => {
    try {
      for (;;) {
        const m = await reader.next();
        if (m === null) break;
        if (m.type === "request") {
          const idstr = m.request.idstr ?? lastBlock;
          lastBlock = idstr;
          pc.requests++;
          queue.push({ ...m.request, idstr });
        } else if (m.type === "shut") {
          shut = m.status;
          break;
        }
        waiter.wake?.();
      }
    } catch (e) {
      rpError = e;
    }
    waiter.wake?.();
  })();
  const chunk = async (phase: number, body: () => Promise<void>) => {
    writeSectionHeader(w, entry, phase);
    ram.forgetCurrentBlock();
    await body();
    if (phase === SectionType.PART) w.be64Parts(0, RamFlag.EOS);
    writeSectionFooter(w, entry, opts);
    await w.flush();
  };
  try {
    for (;;) {
      if (rpError) throw rpError;
      if (queue.length > 0) {
        const reqs = queue.splice(0);
        await chunk(SectionType.PART, async () => {
          for (const r of reqs) {
            for (let off = r.start; off < r.start + r.length; off += ram.pageSize) {
              if (await ram.sendRequested(w, r.idstr!, off)) pc.requestedPagesSent++;
            }
          }
        });
        continue;
      }
      if (ram.pendingPages === 0) break;
      await chunk(SectionType.PART, async () => {
        pc.pushedPages += await ram.sendSome(w, POSTCOPY_CHUNK_PAGES);
      });
      // A turn for the return path's reader before the next chunk.
      await new Promise((r) => setTimeout(r, 0));
    }
    await chunk(SectionType.END, () => ram.saveComplete(w));
    w.u8(SectionType.EOF);
    await w.flush();
    pc.bytes = w.offset - stopAt;
    await rp.closeWrite();
    if (shut === null && !rpError) {
      await new Promise<void>((resolve) => {
        waiter.wake = resolve;
        if (shut !== null || rpError) resolve();
      });
      await listening;
    }
    if (rpError) throw rpError;
    if (shut === null) {
      throw new TransportError(`${status.uri} closed the return path without confirming the load`);
    }
    if (shut !== 0) {
      throw new TransportError(`${status.uri} failed to load the postcopy stream (SHUT ${shut})`);
    }
    status.state = "completed";
  } catch (e) {
    pc.bytes = w.offset - stopAt;
    ram.cancel();
    await out.abort().catch(() => {});
    const err = e instanceof MigrationError
      ? e
      : new TransportError(`postcopy: ${(e as Error)?.message ?? e}`, {}, { cause: e });
    status.state = "failed";
    status.error = err;
    status.guestLost = true;
    status.reason = `postcopy failed after the switch-over: ${err.message}; ${POSTCOPY_LOST}. ` +
      "The source stays stopped: its RAM is no longer the guest's";
  } finally {
    await out.abort().catch(() => {});
    await listening.catch(() => {});
  }
}
