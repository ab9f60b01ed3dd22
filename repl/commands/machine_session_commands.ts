/**
 * Looking at and poking the session's machine: `boot [ELF]`, `reset`, `regs`, `mem ADDR [LEN]`,
 * `console` and `send TEXT`.
 * @module
 */
import type { ShellContext } from "../session.ts";
import { renderTable } from "../style.ts";
import { FIRMWARE_OPTIONS, guestImageFor } from "../guest_boot.ts";
import { ABI_NAMES, readRegister, SHOWN_CSRS, whereNow } from "../machine_text.ts";
import { addressType, countType, fileType, sizeType } from "./arg_types.ts";
import { machineOption, machineOverrides } from "./machine_commands_profile.ts";
import { type CommandDef, UsageError } from "./types.ts";

/** Longest `mem` dump. */
export const MAX_DUMP = 64 * 1024;

const hex8 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;

/** `boot [ELF | linux]`: a fresh machine with the guest loaded, paused at reset. */
export const bootCommand: CommandDef<ShellContext> = {
  name: "boot",
  summary: "Boot a fresh machine, paused at reset: an ELF (default: the demo guest), linux, or " +
    "firmware and a kernel as QEMU's virt boots them",
  args: [{
    name: "elf",
    optional: true,
    description: "RISC-V ELF (RV32), or linux: the guest `deno task guests:linux` builds",
    type: fileType,
  }],
  options: [
    { flags: "--ram <size>", description: "guest RAM size, e.g. 128M", type: sizeType },
    ...FIRMWARE_OPTIONS,
    machineOption("virt"),
  ],
  examples: [
    "boot                 # the demo guest",
    "boot linux           # OpenSBI + Linux 6.1 + our init (deno task guests:linux builds them)",
    'boot --bios fw_dynamic.bin --kernel Image --append "console=ttyS0"',
  ],
  async run(ctx, args, opts) {
    const s = ctx.session;
    const image = await guestImageFor(args[0] as string | undefined, opts);
    const m = s.boot(image, machineOverrides(opts, !!image.firmware));
    const profile = m.profile === "virt" ? "" : `, machine ${m.profile}`;
    ctx.io.out(
      `booted ${image.name} (${m.ram.size >> 20} MiB RAM${profile}), paused at ${whereNow(m)}`,
    );
    return 0;
  },
};

/** `reset`: boot the current guest again on a fresh machine. */
export const resetCommand: CommandDef<ShellContext> = {
  name: "reset",
  summary: "Boot the current guest again on a fresh machine (same RAM size), paused at reset",
  run(ctx) {
    const s = ctx.session;
    if (!s.guest) {
      throw new UsageError("This machine was loaded from a snapshot: boot an ELF to reset");
    }
    const m = s.boot(s.guest, {
      ...machineOverrides({ machine: s.machine.profile }, !!s.guest.firmware),
      ramSize: s.machine.ram.size,
    });
    ctx.io.out(`reset: ${s.guest.name}, paused at ${whereNow(m)}`);
    return Promise.resolve(0);
  },
};

/** `regs`: the hart's registers. */
export const regsCommand: CommandDef<ShellContext> = {
  name: "regs",
  summary: "Show the hart's registers, pc and main CSRs",
  run(ctx) {
    const st = ctx.session.machine.cpu.state;
    const rows: string[][] = [];
    for (let r = 0; r < 8; r++) {
      const row: string[] = [];
      for (let c = 0; c < 4; c++) {
        const i = r + c * 8;
        row.push(`x${i}/${ABI_NAMES[i]}`, hex8(st.x[i]));
      }
      rows.push(row);
    }
    ctx.io.out(renderTable(["reg", "value", "reg", "value", "reg", "value", "reg", "value"], rows));
    const csrs = SHOWN_CSRS.map((n) => `${n}=${hex8(readRegister(ctx, n)!)}`);
    ctx.io.out(
      `pc=${hex8(st.pc)} priv=${["U", "S", "?", "M"][st.priv] ?? st.priv}` +
        ` ${st.waiting ? "(in WFI)" : ""}`.trimEnd(),
    );
    ctx.io.out(csrs.join(" "));
    ctx.io.out(whereNow(ctx.session.machine));
    return Promise.resolve(0);
  },
};

/** Classic hexdump lines: address, 16 bytes, printable characters. */
export function hexdump(bytes: Uint8Array, base: number): string[] {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = bytes.subarray(off, off + 16);
    const hexes = Array.from(chunk, (b) => b.toString(16).padStart(2, "0"));
    const left = hexes.slice(0, 8).join(" ");
    const right = hexes.slice(8).join(" ");
    const ascii = Array.from(chunk, (b) => b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")
      .join("");
    lines.push(`${hex8(base + off)}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines;
}

/** `mem ADDR [LEN]`: hexdump of guest RAM. */
export const memCommand: CommandDef<ShellContext> = {
  name: "mem",
  summary: "Hexdump guest RAM at ADDR (LEN bytes, default 128)",
  args: [
    { name: "addr", description: "guest physical address, e.g. 0x80000000", type: addressType },
    {
      name: "len",
      optional: true,
      description: "bytes (default 128, at most 64K)",
      type: countType,
    },
  ],
  examples: ["mem 0x80000000 64"],
  run(ctx, args) {
    const m = ctx.session.machine;
    const addr = args[0] as number;
    const len = (args[1] as number | undefined) ?? 128;
    if (len === 0 || len > MAX_DUMP) {
      throw new UsageError(`Invalid length ${args[1]}: dump 1 to ${MAX_DUMP} bytes`);
    }
    if (!m.ram.contains(addr, len)) {
      throw new UsageError(
        `${hex8(addr)}+${len} is outside RAM (${hex8(m.ram.base)}..${
          hex8(m.ram.base + m.ram.size - 1)
        })`,
      );
    }
    for (const l of hexdump(m.ram.read(addr, len), addr)) ctx.io.out(l);
    return Promise.resolve(0);
  },
};

/** `console`: everything the guest printed on this machine so far. */
export const consoleCommand: CommandDef<ShellContext> = {
  name: "console",
  summary: "Show the guest's console output so far (since boot, load or incoming)",
  options: [{ flags: "--tail <n>", description: "only the last N lines", type: countType }],
  run(ctx, _args, opts) {
    const s = ctx.session;
    const text = s.machine.consoleText;
    if (text === "") {
      ctx.io.out(s.origin === "boot" ? "(no output since boot)" : "(no output since load)");
      return Promise.resolve(0);
    }
    let lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const tail = opts.tail as number | undefined;
    if (tail !== undefined) lines = lines.slice(-tail || lines.length);
    for (const l of lines) ctx.io.out(l);
    return Promise.resolve(0);
  },
};

/** `send TEXT`: type into the guest's UART. */
export const sendCommand: CommandDef<ShellContext> = {
  name: "send",
  summary: "Type TEXT into the guest's UART, followed by Enter (CR)",
  args: [{ name: "text", variadic: true, description: "text (words are joined by spaces)" }],
  options: [{ flags: "--no-enter", description: "do not press Enter after the text" }],
  literalArgs: true,
  examples: ['send "hello guest"', "run for 50ms", "console --tail 2"],
  run(ctx, args, opts) {
    const text = (args as string[]).join(" ") + (opts.enter === false ? "" : "\r");
    try {
      ctx.session.send(text);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(`Cannot send: ${e.message}`);
      throw e;
    }
    ctx.io.out(`sent ${JSON.stringify(text)} (${new TextEncoder().encode(text).length} bytes)`);
    return Promise.resolve(0);
  },
};
