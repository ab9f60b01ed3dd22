/**
 * Device state through the VMState descriptions: `info devices`, `info device NAME` (every field
 * by path), `info machine`, and `set DEVICE.FIELD VALUE` for experiments (checked by the same
 * engine as a load, so an impossible value is refused and nothing changes).
 * @module
 */
import { describeBoot } from "../../emu/boot/boot.ts";
import {
  formatValue,
  listDevices,
  resolveSections,
  sectionFields,
  sectionLabel,
  setField,
} from "../../harness/store/device_state.ts";
import type { ShellContext } from "../session.ts";
import { colors, renderTable } from "../style.ts";
import { deviceType, enumType, fieldPathType } from "./arg_types.ts";
import { whereNow } from "../machine_text.ts";
import { type CommandDef, UsageError } from "./types.ts";

const hex = (v: number) => `0x${v.toString(16)}`;

function showDevices(ctx: ShellContext): void {
  const rows = listDevices(ctx.session.machine).map((d) => [
    d.name,
    d.sections.join(", ") || "-",
    d.mmio ? `${hex(d.mmio.base)}+${hex(d.mmio.size)}` : "-",
  ]);
  ctx.io.out(renderTable(["device", "sections", "mmio"], rows));
}

function showDevice(ctx: ShellContext, name: string): void {
  for (const entry of resolveSections(ctx.session.machine, name)) {
    const vmsd = entry.vmsd!;
    ctx.io.out(colors.bold(`${sectionLabel(entry)} (version ${vmsd.versionId})`));
    let sub: string | undefined;
    for (const leaf of sectionFields(entry)) {
      if (leaf.subsection !== sub) {
        sub = leaf.subsection;
        if (sub) ctx.io.out(`  ${colors.dim(`subsection ${sub}`)}`);
      }
      const type = leaf.type ? colors.dim(` (${leaf.type})`) : "";
      ctx.io.out(`  ${sub ? "  " : ""}${leaf.path} = ${formatValue(leaf.value)}${type}`);
    }
  }
}

/** The run state in QEMU's words (`info status`): running, paused, postmigrate, shutdown. */
export function runState(s: ShellContext["session"]): string {
  if (s.active) return `running${s.active.background ? " (in the background)" : ""}`;
  if (s.holder) return `running (${s.holder})`;
  if (s.inPostmigrate) return `postmigrate (migrated to ${s.postmigrate!.uri})`;
  if (s.machine.exitCode !== undefined) {
    return `shutdown (exited with status ${s.machine.exitCode})`;
  }
  return "paused";
}

function showMachine(ctx: ShellContext): void {
  const s = ctx.session;
  const m = s.machine;
  const state = runState(s);
  ctx.io.out(
    `machine ${m.machineType}, ${m.ram.size >> 20} MiB RAM, guest ${
      s.guest?.name ?? "(loaded from a snapshot)"
    }`,
  );
  if (s.bootInfo) {
    ctx.io.out("booted as QEMU's virt boots (reset ROM at 0x1000, then the firmware):");
    for (const line of describeBoot(s.bootInfo)) ctx.io.out(`  ${line}`);
  }
  ctx.io.out(`${state}: ${whereNow(m)}`);
  ctx.io.out(`snapshot store: ${s.store.dir}`);
}

/** `info devices | device NAME | machine`. */
export const infoCommand: CommandDef<ShellContext> = {
  name: "info",
  summary: "Show devices, one device's state by field path, the machine, or its run status",
  args: [
    {
      name: "what",
      description: "what to show",
      type: enumType("topic", ["devices", "device", "machine", "status"]),
    },
    {
      name: "name",
      optional: true,
      description: "device or section (for info device)",
      type: deviceType,
    },
  ],
  examples: [
    "info devices",
    "info device uart0",
    "info device cpu",
    "info machine",
    "info status          # running, paused or postmigrate, as QEMU says it",
  ],
  run(ctx, args) {
    const [what, name] = args as (string | undefined)[];
    if (what === "device") {
      if (!name) throw new UsageError("info device needs a NAME: see info devices");
      showDevice(ctx, name);
    } else {
      if (name) throw new UsageError(`info ${what} takes no name`);
      if (what === "devices") showDevices(ctx);
      else if (what === "status") ctx.io.out(`VM status: ${runState(ctx.session)}`);
      else showMachine(ctx);
    }
    return Promise.resolve(0);
  },
};

/** `set DEVICE.FIELD VALUE`. */
export const setCommand: CommandDef<ShellContext> = {
  name: "set",
  summary: "Set one device field (checked like a load: a value the device rejects changes nothing)",
  args: [
    { name: "field", description: "DEVICE.FIELD as info device shows it", type: fieldPathType },
    { name: "value", description: "integer (42, 0x2a, -1) or true/false" },
  ],
  literalArgs: true,
  examples: ["set cpu.env.gpr[10] 0x1234", "set uart0.serial.scr 0x5a"],
  run(ctx, args) {
    const [field, value] = args as string[];
    const r = setField(ctx.session.machine, field, value);
    // Echo the field as typed (device name, not the section's): what info device shows.
    ctx.io.out(`${field}: ${formatValue(r.before)} -> ${formatValue(r.after)}`);
    return Promise.resolve(0);
  },
};
