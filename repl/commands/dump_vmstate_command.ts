/**
 * `dump-vmstate [FILE]`: the current machine's descriptions as JSON in the layout of QEMU's
 * `-dump-vmstate`, for `compat` or QEMU's own scripts/vmstate-static-checker.py.
 * @module
 */
import { formatDump } from "../../migration/compat/dump_model.ts";
import { dumpRegistry, VIRT_TYPE_NAMES } from "../../migration/compat/dump_vmstate.ts";
import type { ShellContext } from "../session.ts";
import { fileType } from "./arg_types.ts";
import type { CommandDef } from "./types.ts";

/** `dump-vmstate [FILE]`. */
export const dumpVmstateCommand: CommandDef<ShellContext> = {
  name: "dump-vmstate",
  summary: "Write the machine's VMState descriptions as QEMU's -dump-vmstate JSON",
  args: [{
    name: "file",
    optional: true,
    description: "output file (default: standard output)",
    type: fileType,
  }],
  options: [
    { flags: "--idstr", description: "key sections by idstr instead of QEMU's QOM type names" },
    { flags: "--with-num", description: 'add "num" to array fields, as QEMU 8.1 and later do' },
  ],
  examples: [
    "dump-vmstate snapshell.json",
    "compat snapshell.json tests/fixtures/qemu72/virt.dump-vmstate.json",
  ],
  async run(ctx, args, opts) {
    const m = ctx.session.machine;
    const text = formatDump(dumpRegistry(m.registry, {
      machine: m.machineType,
      typeNames: opts.idstr ? undefined : VIRT_TYPE_NAMES,
      withNum: !!opts.withNum,
    }));
    const out = args[0] as string | undefined;
    if (!out) {
      ctx.io.out(text.replace(/\n$/, ""));
      return 0;
    }
    await Deno.writeTextFile(out, text);
    ctx.io.out(
      `dump-vmstate: ${out}: ${m.registry.entries.filter((e) => e.vmsd).length} sections`,
    );
    return 0;
  },
};
