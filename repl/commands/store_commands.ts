/**
 * The snapshot store from the shell: `save NAME`, `load NAME`, `snapshots`, `delete NAME`,
 * `diff A B`, `export NAME FILE`, `import FILE NAME`. Saving pauses a background run and resumes
 * it; a failed load leaves the current machine exactly as it was (the snapshot is loaded into a
 * fresh machine that replaces the current one only on success).
 * @module
 */
import { formatBytes } from "../../migration/format.ts";
import type { VirtMachine } from "../../emu/virt.ts";
import {
  decodedCopy,
  diffMachines,
  type MachineDiff,
  machinesEqual,
  pageRanges,
} from "../../harness/store/machine_diff.ts";
import type { SnapshotMeta } from "../../harness/store/store.ts";
import { progressOf } from "../progress.ts";
import type { ShellContext } from "../session.ts";
import { colors, renderTable } from "../style.ts";
import { countType, fileType, machineRefType, newSnapshotType, snapshotType } from "./arg_types.ts";
import { whereNow } from "./run_commands.ts";
import { formatNs, parseCount } from "./sizes.ts";
import type { CommandDef } from "./types.ts";

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
    const r = await s.store.load(name, (ramSize) => s.freshMachine(ramSize ? { ramSize } : {}), {
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
    return await decodedCopy(s.machine, s.freshMachine({ ramSize: s.machine.ram.size }));
  }
  return (await loadSnapshotMachine(ctx, ref)).machine;
}

/** `save NAME`. */
export const saveCommand: CommandDef<ShellContext> = {
  name: "save",
  summary: "Save the machine as snapshot NAME in the store (atomically; --force replaces)",
  args: [{
    name: "name",
    description: "snapshot name (letters, digits, . _ -)",
    type: newSnapshotType,
  }],
  options: [{ flags: "--force", description: "replace an existing snapshot of that name" }],
  async run(ctx, args, opts) {
    const s = ctx.session;
    const meta = await s.paused(async () => {
      const bar = progressOf(ctx)(`save ${args[0]}`, s.machine.ram.size);
      try {
        return await s.store.save(args[0], s.machine, {
          force: !!opts.force,
          guest: s.guest?.name,
          onProgress: (done) => bar.update(done),
        });
      } finally {
        bar.done();
      }
    });
    ctx.io.out(
      `saved "${meta.name}": ${formatBytes(meta.bytes)}, ${meta.insns} instructions, ` +
        `sha256 ${meta.sha256.slice(0, 16)}`,
    );
    return 0;
  },
};

/** `load NAME`. */
export const loadCommand: CommandDef<ShellContext> = {
  name: "load",
  summary: "Load snapshot NAME (checksum verified first); on any error the machine is unchanged",
  args: [{ name: "name", description: "snapshot name", type: snapshotType }],
  options: [{ flags: "--ignore-checksum", description: "load even if the file changed on disk" }],
  async run(ctx, args, opts) {
    const s = ctx.session;
    const r = await s.paused(() => loadSnapshotMachine(ctx, args[0], !!opts.ignoreChecksum));
    const guest = s.guest && r.meta.guest === s.guest.name ? s.guest : undefined;
    s.install(r.machine, guest);
    ctx.io.out(
      `loaded "${args[0]}": ${formatBytes(r.bytes)}, ${r.sections} sections; ${
        whereNow(r.machine)
      }`,
    );
    return 0;
  },
};

/** `snapshots`: the store as a table. */
export const snapshotsCommand: CommandDef<ShellContext> = {
  name: "snapshots",
  summary: "List the snapshots in the store (name, size, created, instructions, machine, checksum)",
  options: [{ flags: "--verify", description: "re-hash each file and show whether it changed" }],
  async run(ctx, _args, opts) {
    const store = ctx.session.store;
    const list = await store.list();
    if (list.length === 0) {
      ctx.io.out(`no snapshots in ${store.dir}`);
      return 0;
    }
    const head = ["name", "size", "created", "insns", "virtual time", "machine", "sha256"];
    if (opts.verify) head.push("status");
    const rows: string[][] = [];
    let changed = 0;
    for (const m of list) {
      const row = [
        m.name,
        formatBytes(m.bytes),
        m.created.replace("T", " ").replace(/\.\d+Z$/, "Z"),
        m.insns === null ? "-" : String(m.insns),
        m.virtualNs === null ? "-" : formatNs(BigInt(m.virtualNs)),
        `${m.machine}${m.ramSize ? ` ${m.ramSize >> 20}M` : ""}`,
        m.sha256.slice(0, 12),
      ];
      if (opts.verify) {
        const v = await store.verify(m.name).catch(() => undefined);
        const ok = v?.ok === true;
        if (!ok) changed++;
        row.push(ok ? colors.green("ok") : colors.red(v ? "CHANGED" : "MISSING"));
      }
      rows.push(row);
    }
    ctx.io.out(renderTable(head, rows));
    return changed ? 1 : 0;
  },
};

/** `delete NAME`. */
export const deleteCommand: CommandDef<ShellContext> = {
  name: "delete",
  summary: "Delete snapshot NAME from the store",
  args: [{ name: "name", description: "snapshot name", type: snapshotType }],
  async run(ctx, args) {
    const meta = await ctx.session.store.delete(args[0]);
    ctx.io.out(`deleted "${meta.name}" (${formatBytes(meta.bytes)})`);
    return 0;
  },
};

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

/** `diff A B`. */
export const diffCommand: CommandDef<ShellContext> = {
  name: "diff",
  summary: "Compare two snapshots (or `machine`) field by field and RAM page by page",
  args: [
    { name: "a", description: "snapshot name or machine", type: machineRefType },
    { name: "b", description: "snapshot name or machine", type: machineRefType },
  ],
  options: [{
    flags: "--limit <n>",
    description: "show at most N fields and ranges (default 50)",
    type: countType,
  }],
  examples: ["diff before after", "diff machine before"],
  async run(ctx, args, opts) {
    const limit = opts.limit === undefined ? 50 : parseCount(String(opts.limit), "--limit");
    const d = await ctx.session.paused(async () => {
      const a = await machineFor(ctx, args[0]);
      const b = await machineFor(ctx, args[1]);
      return diffMachines(a, b);
    });
    printDiff(ctx, d, limit);
    return 0;
  },
};

/** `export NAME FILE`. */
export const exportCommand: CommandDef<ShellContext> = {
  name: "export",
  summary: "Copy snapshot NAME out of the store to FILE (a plain QEMU-format stream)",
  args: [
    { name: "name", description: "snapshot name", type: snapshotType },
    { name: "file", description: "destination file", type: fileType },
  ],
  options: [{ flags: "--force", description: "overwrite FILE if it exists" }],
  async run(ctx, args, opts) {
    const meta = await ctx.session.store.export(args[0], args[1], { force: !!opts.force });
    ctx.io.out(`exported "${meta.name}" to ${args[1]} (${formatBytes(meta.bytes)})`);
    return 0;
  },
};

/** `import FILE NAME`. */
export const importCommand: CommandDef<ShellContext> = {
  name: "import",
  summary: "Copy a migration stream FILE into the store as NAME (its checksum is recorded)",
  args: [
    { name: "file", description: "stream file (ours or QEMU's)", type: fileType },
    { name: "name", description: "snapshot name", type: newSnapshotType },
  ],
  options: [{ flags: "--force", description: "replace an existing snapshot of that name" }],
  async run(ctx, args, opts) {
    const meta = await ctx.session.store.import(args[0], args[1], { force: !!opts.force });
    ctx.io.out(
      `imported ${args[0]} as "${meta.name}" (${formatBytes(meta.bytes)}, machine ${meta.machine})`,
    );
    return 0;
  },
};
