/**
 * XBZRLE against QEMU 7.2 itself: qemu-system-riscv32 -M virt runs memwriter (it rewrites 12
 * bytes of page after page), migrates with the xbzrle capability to `exec:cat > F` over several
 * rounds, and snapshell's inspector and RAM loader take every record of the stream: the
 * records add up to QEMU's own xbzrle byte count, and the RAM snapshell decodes equals the RAM a
 * QEMU 7.2 destination (`-incoming`, its load_xbzrle) loads from the same stream (pmemsave).
 * (Not the source's final RAM: QEMU 7.2's TCG dirty tracking misses writes to pages that stay in
 * the TLB, so memwriter's hot pages, counters and stack, are not resent after the first rounds.)
 */
import { ok, strictEqual } from "node:assert/strict";
import { freePort, Qmp } from "../../../bench/qmp.ts";
import { qemuMissingReason } from "../../../emu/guests/linux/qemu.ts";
import { inspect } from "../../../migration/inspect/decoder.ts";
import { bytesInput } from "../../../migration/inspect/input.ts";
import type { InspectResult, SectionChunk } from "../../../migration/inspect/model.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { walkRamRecords } from "../../../migration/inspect/ram_records.ts";
import { probeRamLayout } from "../../../migration/ram/probe.ts";
import { type RamBlock, RamSection } from "../../../migration/ram/ram_section.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";

const missing = await qemuMissingReason();
const MEMWRITER = new URL("../../../emu/guests/build/memwriter.elf", import.meta.url).pathname;

async function waitFor(
  qmp: Qmp,
  done: (info: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 60_000; i++) {
    const info = await qmp.execute("query-migrate") as Record<string, unknown>;
    if (info.status === "failed" || info.status === "cancelled") {
      throw new Error(`QEMU migration ${info.status}: ${JSON.stringify(info)}`);
    }
    if (done(info)) return info;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("QEMU migration did not get there in time");
}

/** qemu-system-riscv32 -M virt with 16 MiB running memwriter, and its QMP monitor. */
async function startQemu(extra: string[]): Promise<{ qemu: Deno.ChildProcess; qmp: Qmp }> {
  const port = freePort();
  const qemu = new Deno.Command("qemu-system-riscv32", {
    args: [
      ...["-M", "virt", "-bios", "none", "-m", "16M", "-kernel", MEMWRITER],
      ...["-display", "none", "-serial", "none", "-monitor", "none"],
      ...["-qmp", `tcp:127.0.0.1:${port},server=on,wait=off`],
      ...extra,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { qemu, qmp: await Qmp.connect(port) };
}

const stopped = new WeakSet<Deno.ChildProcess>();

/** Ask QEMU to quit and wait for it (once). */
async function stopQemu(q: { qemu: Deno.ChildProcess; qmp: Qmp }): Promise<void> {
  if (stopped.has(q.qemu)) return;
  stopped.add(q.qemu);
  await q.qmp.execute("quit").catch(() => {});
  q.qmp.close();
  await q.qemu.status;
}

/** The `ram` section's chunks, in stream order. */
function ramChunks(result: InspectResult): SectionChunk[] {
  return result.items.filter((i): i is SectionChunk => i.type !== "command" && i.idstr === "ram");
}

/** The RAM blocks a stream holds, decoded by snapshell's `ram` loader chunk by chunk. */
async function loadRam(bytes: Uint8Array): Promise<{ blocks: RamBlock[]; section: RamSection }> {
  const layout = await probeRamLayout(StreamReader.fromBytes(bytes));
  ok(layout, "the stream has a ram section");
  const blocks: RamBlock[] = layout.blocks.map((b) => ({
    idstr: b.idstr,
    bytes: new Uint8Array(b.length),
  }));
  const section = new RamSection(() => blocks);
  for (const c of ramChunks(await inspect(bytesInput(bytes)))) {
    const payload = bytes.subarray(c.payloadOffset, c.payloadOffset + c.payloadSize);
    const phase = c.type === "start" ? "start" : c.type === "end" ? "end" : "part";
    await section.load(StreamReader.fromBytes(payload), c.version, phase);
  }
  section.commit();
  return { blocks, section };
}

Deno.test({
  name:
    "a QEMU 7.2 xbzrle stream: every record decodes, and the RAM is what QEMU's destination loads",
  sanitizeResources: false,
  ignore: missing !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xbzrle-qemu-" });
    const { qemu, qmp } = await startQemu([]);
    try {
      await qmp.execute("migrate-set-capabilities", {
        capabilities: [{ capability: "xbzrle", state: true }],
      });
      // Slow enough for several rounds; a limit nothing meets until the xbzrle pages are seen.
      await qmp.execute("migrate-set-parameters", {
        "max-bandwidth": 8 << 20,
        "downtime-limit": 1,
        "xbzrle-cache-size": 8 << 20,
      });
      await qmp.execute("migrate", { uri: `exec:cat > ${dir}/xbzrle.qemu` });
      await waitFor(qmp, (i) => {
        const x = i["xbzrle-cache"] as { pages?: number } | undefined;
        return (x?.pages ?? 0) > 200;
      });
      await qmp.execute("migrate-set-parameters", { "downtime-limit": 60_000 });
      const first = await waitFor(qmp, (i) => i.status === "completed");
      const qx = first["xbzrle-cache"] as { pages: number; bytes: number; overflow: number };
      await stopQemu({ qemu, qmp });
      // What QEMU 7.2's own destination (load_xbzrle) makes of the stream, paused after it.
      const dst = await startQemu(["-S", "-incoming", "defer"]);
      try {
        await dst.qmp.execute("migrate-incoming", { uri: `exec:cat ${dir}/xbzrle.qemu` });
        await waitFor(dst.qmp, (i) => i.status === "completed");
        await dst.qmp.execute("pmemsave", {
          val: 0x80000000,
          size: 16 << 20,
          filename: `${dir}/ram`,
        });
      } finally {
        await stopQemu(dst);
      }
      const xb = await Deno.readFile(`${dir}/xbzrle.qemu`);
      const seen = await inspect(bytesInput(xb));
      strictEqual(seen.end.complete, true, JSON.stringify(seen.warnings));
      const ramState = [...seen.sections.values()].find((s) => s.idstr === "ram")!;
      const counted = ramState.blocks!.reduce((n, b) => n + b.xbzrlePages, 0);
      // QEMU's xbzrle "bytes" are each record less its 8-byte header, plus a page per overflow;
      // its "pages" also count the hits that were skipped or overflowed.
      let records = 0;
      let recordBytes = 0;
      let current: string | undefined;
      for (const c of ramChunks(seen)) {
        const walk = await walkRamRecords(
          bytesAccess(xb),
          c.payloadOffset,
          c.payloadOffset + c.payloadSize,
          4096,
          current,
        );
        strictEqual(walk.stoppedAt, undefined, "every record is followed");
        current = walk.current;
        for (const r of walk.records.filter((r) => r.kind === "xbzrle")) {
          records++;
          recordBytes += r.size - 8;
        }
      }
      strictEqual(counted, records);
      ok(records > 100 && records <= qx.pages - qx.overflow, `${records} of ${qx.pages}`);
      strictEqual(recordBytes + qx.overflow * 4096, qx.bytes, "QEMU's xbzrle byte count");
      const got = await loadRam(xb);
      strictEqual(got.section.stats.xbzrlePages, records, "the loader applied each of them");
      const ram = got.blocks.find((b) => b.idstr === "riscv_virt_board.ram")!;
      const want = await Deno.readFile(`${dir}/ram`);
      strictEqual(ram.bytes.length, want.length);
      const differ = ram.bytes.findIndex((v, j) => v !== want[j]);
      strictEqual(
        differ,
        -1,
        `snapshell's RAM from the xbzrle stream differs from QEMU's destination at ${differ}`,
      );
    } finally {
      await stopQemu({ qemu, qmp });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
