/**
 * The snapshot store from the shell: `save NAME`, `load NAME`, `snapshots`, `delete NAME`,
 * `diff A B`, `export NAME FILE`, `import FILE NAME`. Saving pauses a background run and resumes
 * it; a failed load leaves the current machine exactly as it was (the snapshot is loaded into a
 * fresh machine that replaces the current one only on success).
 * @module
 */
import { diffMachines } from "../../harness/store/machine_diff.ts";
import { whereNow } from "../machine_text.ts";
import { progressOf } from "../progress.ts";
import type { ShellContext } from "../session.ts";
import { formatBytes, loadSnapshotMachine, machineFor, printDiff } from "../snapshot_io.ts";
import { colors, renderTable } from "../style.ts";
import { countType, fileType, machineRefType, newSnapshotType, snapshotType } from "./arg_types.ts";
import { formatNs } from "./sizes.ts";
import type { CommandDef } from "./types.ts";

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
    const name = args[0] as string;
    const meta = await s.paused(async () => {
      const bar = progressOf(ctx)(`save ${name}`, s.machine.ram.size);
      try {
        return await s.store.save(name, s.machine, {
          force: !!opts.force,
          guest: s.guest?.name,
          onProgress: (done) => bar.update(done),
        });
      } finally {
        bar.done();
      }
    });
    ctx.io.out(
      `saved "${meta.name}": ${formatBytes(meta.bytes)}, ${meta.insns} instructions retired, ` +
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
    const name = args[0] as string;
    const r = await s.paused(() => loadSnapshotMachine(ctx, name, !!opts.ignoreChecksum));
    const guest = s.guest && r.meta.guest === s.guest.name ? s.guest : undefined;
    s.install(r.machine, guest, "load");
    ctx.io.out(
      `loaded "${name}": ${formatBytes(r.bytes)}, ${r.sections} sections; ${whereNow(r.machine)}`,
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
    const head = ["name", "size", "created", "instructions", "virtual time", "machine", "sha256"];
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
    const meta = await ctx.session.store.delete(args[0] as string);
    ctx.io.out(`deleted "${meta.name}" (${formatBytes(meta.bytes)})`);
    return 0;
  },
};

/** `diff A [B]`. */
export const diffCommand: CommandDef<ShellContext> = {
  name: "diff",
  summary: "Compare two snapshots (or `machine`; one name: with the current machine) field by " +
    "field and RAM page by page",
  args: [
    { name: "a", description: "snapshot name or machine", type: machineRefType },
    {
      name: "b",
      optional: true,
      description: "snapshot name or machine (default: machine, the current machine)",
      type: machineRefType,
    },
  ],
  options: [{
    flags: "--limit <n>",
    description: "show at most N fields and ranges (default 50)",
    type: countType,
  }],
  examples: ["diff before after", "diff before          # with the current machine"],
  async run(ctx, args, opts) {
    const limit = (opts.limit as number | undefined) ?? 50;
    const [a, b = "machine"] = args as string[];
    const d = await ctx.session.paused(async () => {
      return diffMachines(await machineFor(ctx, a), await machineFor(ctx, b));
    });
    if (args.length === 1) ctx.io.out(`diff: "${a}" (A) against the current machine (B)`);
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
    const [name, file] = args as string[];
    const meta = await ctx.session.store.export(name, file, { force: !!opts.force });
    ctx.io.out(`exported "${meta.name}" to ${file} (${formatBytes(meta.bytes)})`);
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
    const [file, name] = args as string[];
    const meta = await ctx.session.store.import(file, name, { force: !!opts.force });
    ctx.io.out(
      `imported ${file} as "${meta.name}" (${formatBytes(meta.bytes)}, machine ${meta.machine}` +
        `${meta.insns === null ? "" : `, ${meta.insns} instructions retired`}${
          meta.virtualNs === null ? "" : `, virtual time ${formatNs(BigInt(meta.virtualNs))}`
        })`,
    );
    return 0;
  },
};
