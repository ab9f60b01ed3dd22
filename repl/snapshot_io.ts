/**
 * Snapshots as the commands use them: loading one into a fresh machine with progress bars, the
 * machine a `diff`/`expect equal` operand names, reading a stream by path or stored name, and
 * printing a machine diff.
 * @module
 */
import { qemuVirtOptionsForFile, type VirtMachine } from "../emu/virt.ts";
import { formatBytes } from "../migration/format.ts";
import {
  decodedCopy,
  type MachineDiff,
  machinesEqual,
  pageRanges,
} from "../harness/store/machine_diff.ts";
import type { SnapshotMeta } from "../harness/store/store.ts";
import { progressOf } from "./progress.ts";
import type { ShellContext } from "./session.ts";
import { renderTable } from "./style.ts";
import { UsageError } from "./commands/types.ts";

/** Human size (1.2 MiB), as the one value formatter writes it. */
export { formatBytes };

/** Load snapshot `name` into a fresh machine (checksum verified), with a progress bar. */
export async function loadSnapshotMachine(
  ctx: ShellContext,
  name: string,
  ignoreChecksum = false,
): Promise<{ machine: VirtMachine; meta: SnapshotMeta; bytes: number; sections: number }> {
  const s = ctx.session;
  const bars = {
    verify: progressOf(ctx)(`verify ${name}`, 1),
    load: progressOf(ctx)(`load ${name}`, 1),
  };
  try {
    // A stream QEMU 7.2's riscv virt wrote needs the `qemu-virt` machine, sized from its RAM block.
    const stored = await s.store.get(name).then(
      (meta) => s.store.streamPath(meta),
      () => undefined,
    );
    const qemu = stored === undefined ? undefined : await qemuVirtOptionsForFile(stored);
    const make = (ramSize: number | undefined) =>
      s.freshMachine(qemu ?? (ramSize ? { ramSize } : {}));
    const r = await s.store.load(name, make, {
      ignoreChecksum,
      onProgress: (phase, done, total) => bars[phase].update(done, total),
    });
    return {
      machine: r.machine,
      meta: r.meta,
      bytes: r.report.bytes,
      sections: r.report.sections.length,
    };
  } finally {
    bars.verify.done();
    bars.load.done();
  }
}

/**
 * The machine a `diff`/`expect equal` operand names, decoded from a stream: a snapshot loaded
 * into a fresh machine, or for `machine` the current machine saved and loaded into a fresh one.
 */
export async function machineFor(ctx: ShellContext, ref: string): Promise<VirtMachine> {
  const s = ctx.session;
  if (ref === "machine") {
    return await decodedCopy(
      s.machine,
      s.freshMachine({ ramSize: s.machine.ram.size, profile: s.machine.profile }),
    );
  }
  return (await loadSnapshotMachine(ctx, ref)).machine;
}

/** Print a machine diff; returns the number of lines of differences. */
export function printDiff(ctx: ShellContext, d: MachineDiff, limit: number): void {
  if (machinesEqual(d)) {
    ctx.io.out("identical: every device field and every RAM page match");
    return;
  }
  const fields = d.fields.slice(0, limit);
  if (fields.length) {
    ctx.io.out(
      renderTable(["section", "field", "A", "B"], fields.map((f) => [f.section, f.path, f.a, f.b])),
    );
  }
  if (d.fields.length > limit) ctx.io.out(`… and ${d.fields.length - limit} more fields`);
  if (d.ramSize[0] !== d.ramSize[1]) {
    ctx.io.out(`RAM size differs: ${formatBytes(d.ramSize[0])} vs ${formatBytes(d.ramSize[1])}`);
  }
  if (d.pages.length) {
    const ranges = pageRanges(d.pages);
    const shown = ranges.slice(0, limit).map(([a, b]) =>
      `0x${a.toString(16)}-0x${(b - 1).toString(16)}`
    );
    ctx.io.out(
      `RAM: ${d.pages.length} page${d.pages.length === 1 ? "" : "s"} differ: ${shown.join(", ")}${
        ranges.length > limit ? ", …" : ""
      }`,
    );
  }
  ctx.io.out(
    `${d.fields.length} field${d.fields.length === 1 ? "" : "s"} and ${d.pages.length} RAM page${
      d.pages.length === 1 ? "" : "s"
    } differ`,
  );
}

/** Read a stream by file path, or by snapshot name from the session's store. */
export async function readStreamArg(
  ctx: ShellContext,
  word: string,
): Promise<{ bytes: Uint8Array; name: string }> {
  try {
    return { bytes: await Deno.readFile(word), name: word };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const store = ctx.session.store;
    const stored = await store?.has(word).catch(() => false); // not even a valid name
    if (store && stored) {
      const meta = await store.get(word);
      return { bytes: await Deno.readFile(store.streamPath(meta)), name: `snapshot "${word}"` };
    }
    throw new UsageError(`No file or stored snapshot "${word}"`);
  }
}
