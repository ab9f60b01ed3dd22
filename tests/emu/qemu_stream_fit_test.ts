/**
 * What stands between a QEMU stream and the `qemu-virt` machine, named exactly: each kind of
 * blocker on QEMU's own riscv virt stream edited in one place (machine type, RAM block name and
 * size, an unknown section, field, subsection, a field of another size), and with a real QEMU
 * (when installed) riscv64 virt and x86 pc streams through `check` and `compat --stream`.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  isForeignQemuStream,
  qemuStreamBlockers,
  renderBlockers,
  streamMachineType,
  streamVmdesc,
} from "../../emu/qemu_stream_fit.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { captureContext } from "../repl/_io.ts";
import { QEMU_RV32, qemuMissingReason } from "../../emu/guests/linux/qemu.ts";
import { freePort, Qmp } from "../../bench/qmp.ts";
import { migrateToFile } from "./_qemu_virt.ts";
import { StreamWriter } from "../../migration/stream/writer.ts";
import { VirtMachine } from "../../emu/virt.ts";

const RUNNING = Deno.readFileSync(
  new URL("../fixtures/qemu72/virt-running.qemu", import.meta.url),
);

/** The stream with its vmdesc trailer replaced by `edit` of its JSON. */
function withVmdesc(bytes: Uint8Array, edit: (json: { devices: unknown[] }) => void): Uint8Array {
  const devices = streamVmdesc(bytes)!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  let eof = bytes.length - 6;
  while (
    !(bytes[eof] === 0 && bytes[eof + 1] === 6 &&
      eof + 6 + view.getUint32(eof + 2) === bytes.length)
  ) eof--;
  const json = { ...JSON.parse(new TextDecoder().decode(bytes.subarray(eof + 6))), devices };
  edit(json);
  const text = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(eof + 6 + text.length);
  out.set(bytes.subarray(0, eof + 2));
  new DataView(out.buffer).setUint32(eof + 2, text.length);
  out.set(text, eof + 6);
  return out;
}

/** The stream with the first occurrence of ASCII `from` replaced by `to` (same length). */
function replaced(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const f = new TextEncoder().encode(from);
  const out = bytes.slice();
  outer: for (let i = 0; i + f.length <= out.length; i++) {
    for (let j = 0; j < f.length; j++) if (out[i + j] !== f[j]) continue outer;
    out.set(new TextEncoder().encode(to), i);
    return out;
  }
  throw new Error(`${from} not found`);
}

// deno-lint-ignore no-explicit-any
type Dev = any;
const device = (json: { devices: unknown[] }, name: string) =>
  (json.devices as Dev[]).find((d) => d.name === name);

Deno.test("QEMU's own riscv virt stream has no blocker; snapshell's virt streams are not judged", async () => {
  deepStrictEqual(await qemuStreamBlockers(RUNNING), []);
  strictEqual(streamMachineType(RUNNING), "virt");
  ok(isForeignQemuStream(RUNNING));
  const w = new StreamWriter();
  await new VirtMachine({ ramSize: 1 << 20 }).save(w);
  ok(!isForeignQemuStream(w.take()), "snapshell's own virt stream");
});

Deno.test("each kind of blocker is named with its section, block or field", async () => {
  const cases: [string, Uint8Array, string][] = [
    [
      "machine type",
      replaced(RUNNING, "\x04virt", "\x04vir2"),
      "configuration: machine type 'vir2'",
    ],
    [
      "unknown block",
      replaced(RUNNING, "virt.flash1", "virt.flashX"),
      'ram: RAM block "virt.flashX" (0x2000000 bytes) has no counterpart here',
    ],
    [
      "unknown section",
      withVmdesc(RUNNING, (j) => device(j, "serial").name = "serial-isa"),
      "section 'serial-isa': no such device here (vmsd serial)",
    ],
    [
      "unknown field",
      withVmdesc(RUNNING, (j) => device(j, "riscv_mtimer").fields[0].name = "timecmp2"),
      "section 'riscv_mtimer': field timecmp2 (uint64) is not known here",
    ],
    [
      "field size",
      withVmdesc(RUNNING, (j) => device(j, "PCIHost").fields[0].size = 8),
      "section 'PCIHost': field config_reg is 8 bytes in the stream, 4 here (a 64-bit target's",
    ],
    [
      "array length",
      withVmdesc(RUNNING, (j) => device(j, "PCIBUS").fields[1].array_len = 8),
      "section 'PCIBUS': field irq_count has 8 elements in the stream, 4 here",
    ],
    [
      "unknown subsection",
      withVmdesc(
        RUNNING,
        (j) => device(j, "fw_cfg").subsections.push({ vmsd_name: "fw_cfg/acpi_mr", fields: [] }),
      ),
      "section 'fw_cfg': subsection fw_cfg/acpi_mr is not known here",
    ],
  ];
  for (const [what, bytes, expected] of cases) {
    const lines = renderBlockers(await qemuStreamBlockers(bytes));
    ok(lines.some((l) => l.startsWith(expected)), `${what}: ${lines.join(" | ")}`);
  }
  const sized = await qemuStreamBlockers(RUNNING, { ramSize: 8 << 20 });
  deepStrictEqual(sized.map((b) => b.text), [
    'RAM block "riscv_virt_board.ram" is 0x1000000 bytes in the stream, 0x800000 here',
  ]);
});

/** Why the QEMU test cannot run here, or null. */
async function qemusMissing(): Promise<string | null> {
  const rv = await qemuMissingReason();
  if (rv) return rv;
  const x86 = await new Deno.Command("qemu-system-x86_64", { args: ["--version"], stdout: "null" })
    .output().then((o) => o.success, () => false);
  return x86 ? null : "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
}

const skip = await qemusMissing(); // apt-get install qemu-system-misc qemu-system-x86

/** A stream QEMU writes right after start (-S): `qemu-system-<arch> ARGS`, migrated to a file. */
async function qemuStream(binary: string, args: string[], file: string): Promise<void> {
  const port = freePort();
  const child = new Deno.Command(binary, {
    args: [
      ...args,
      "-S",
      "-display",
      "none",
      "-monitor",
      "none",
      "-qmp",
      `tcp:127.0.0.1:${port},server=on,wait=off`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const qmp = await Qmp.connect(port);
  try {
    await migrateToFile((cmd, args) => qmp.execute(cmd, args), file);
    for (let i = 0; i < 3000; i++) {
      const s = (await qmp.execute("query-migrate")) as { status?: string };
      if (s.status === "completed") break;
      if (s.status === "failed") throw new Error(`${binary}'s migration failed`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await qmp.execute("quit").catch(() => {});
  } finally {
    qmp.close();
    await child.status;
  }
}

Deno.test({
  name: `check and compat --stream name what stops riscv64 virt and x86 pc streams${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-fit-" });
    try {
      await qemuStream(
        "qemu-system-riscv64",
        ["-M", "virt", "-bios", "none", "-m", "16M"],
        `${dir}/rv64.qemu`,
      );
      await qemuStream(
        "qemu-system-x86_64",
        [
          "-M",
          "pc",
          "-m",
          "16M",
          "-nodefaults",
          "-vga",
          "none",
          "-bios",
          "/usr/share/seabios/bios.bin",
        ],
        `${dir}/pc.qemu`,
      );
      const ctx = captureContext();
      const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
      strictEqual(await run("check", `${dir}/rv64.qemu`), 1);
      ok(
        ctx.errText().includes("section 'cpu': 65 fields are 8 bytes in the stream, 4 here") &&
          ctx.errText().includes("env.pc"),
        ctx.errText(),
      );
      strictEqual(await run("compat", "--stream", `${dir}/rv64.qemu`), 1);
      ok(ctx.outText().includes("here: machine qemu-virt with 16 MiB RAM"), ctx.outText());
      ok(ctx.outText().includes("what stands in the way of resuming it here:"), ctx.outText());
      ctx.clear();
      strictEqual(await run("check", `${dir}/pc.qemu`, "--json"), 1);
      const out = JSON.parse(ctx.outText());
      strictEqual(out.ok, false);
      ok(out.blockers.some((b: { where: string }) => b.where === "configuration"), ctx.outText());
      ok(out.blockers.some((b: { field?: string }) => b.field === "pc.ram"), ctx.outText());
      ok(out.blockers.some((b: { where: string }) => b.where === "apic"), ctx.outText());
      strictEqual(await run("compat", "--stream", `${dir}/pc.qemu`), 1);
      ok(ctx.outText().includes("configuration: machine type 'pc-i440fx-7.2'"), ctx.outText());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const rvSkip = await qemuMissingReason(); // apt-get install qemu-system-misc

Deno.test({
  name: `a QEMU riscv virt stream with a virtio device is refused, naming its section${
    rvSkip ? ` (ignored: ${rvSkip})` : ""
  }`,
  ignore: rvSkip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-fit-" });
    try {
      await qemuStream(
        QEMU_RV32,
        ["-M", "virt", "-bios", "none", "-m", "16M", "-device", "virtio-rng-device"],
        `${dir}/rng.qemu`,
      );
      const ctx = captureContext();
      const run = (...argv: string[]) => runCommandLine(allCommands(), ctx, argv);
      strictEqual(await run("check", `${dir}/rng.qemu`), 1);
      // QEMU plugs the device into the last transport (0x10008000); no virtio device exists here.
      ok(
        ctx.errText().includes(
          "section 'virtio-mmio@0000000010008000/virtio-rng': no such device here (vmsd virtio-rng)",
        ),
        ctx.errText(),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
