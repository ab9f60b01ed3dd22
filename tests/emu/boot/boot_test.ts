import {
  deepStrictEqual as assertEquals,
  rejects as assertRejects,
  throws,
} from "node:assert/strict";
import {
  BootError,
  bootVirt,
  bootVirtFiles,
  describeBoot,
  virtDevices,
} from "../../../emu/boot/boot.ts";
import { fdtCells, type FdtNode, fdtStrings, parseDtb } from "../../../emu/boot/fdt.ts";
import { linuxArtifacts, linuxMissingReason } from "../../../emu/guests/linux/artifacts.ts";
import { MROM_BASE } from "../../../emu/boot/reset_rom.ts";
import { QEMU_RV32, QEMU_RV32IMA_CPU, qemuMissingReason } from "../../../emu/guests/linux/qemu.ts";
import { VirtMachine } from "../../../emu/virt.ts";

const MiB = 1024 * 1024;
const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

Deno.test("bootVirt() places firmware, kernel, initrd and tree as QEMU 7.2 does (128 MiB)", () => {
  const m = new VirtMachine();
  const info = bootVirt(m, {
    devices: virtDevices(m),
    bios: filled(150_000, 0x11),
    kernel: filled(2 * MiB, 0x22),
    initrd: filled(1000, 0x33),
    append: "console=ttyS0 earlycon",
  });
  assertEquals(info.bios, { name: "(bytes)", start: 0x8000_0000, end: 0x8000_0000 + 150_000 });
  assertEquals(info.kernel!.start, 0x8040_0000);
  assertEquals(info.initrd, { name: "(bytes)", start: 0x8440_0000, end: 0x8440_0000 + 1000 });
  assertEquals(info.fdt.start, 0x87e0_0000);
  assertEquals(m.ram.read(0x8000_0000, 1)[0], 0x11);
  assertEquals(m.ram.read(0x8040_0000 + 2 * MiB - 1, 1)[0], 0x22);
  assertEquals(m.ram.read(0x8440_0000, 1)[0], 0x33);
  assertEquals(m.ram.read(0x87e0_0000, info.dtb.length), info.dtb);
  const chosen = parseDtb(info.dtb).find("chosen")!;
  assertEquals(fdtStrings(chosen.get("bootargs")), ["console=ttyS0 earlycon"]);
  assertEquals(fdtCells(chosen.get("linux,initrd-start")), [0x8440_0000]);
  // The hart starts in the ROM, which holds the fdt address and the kernel entry.
  assertEquals(m.cpu.state.pc, MROM_BASE);
  assertEquals(m.bus.load(0x1000, 4), 0x00000297);
  assertEquals(m.bus.load(0x1018, 4), 0x8000_0000);
  assertEquals(m.bus.load(0x1020, 4), 0x87e0_0000);
  assertEquals(m.bus.load(0x1030, 4), 0x8040_0000);
  assertEquals(describeBoot(info)[1], "kernel  0x80400000..0x80600000  (bytes)");
});

Deno.test("bootVirt() follows the RAM size (32 MiB) and -bios none", () => {
  const m = new VirtMachine({ ramSize: 32 * MiB });
  const info = bootVirt(m, {
    devices: virtDevices(m),
    kernel: filled(4096, 1),
    initrd: filled(8, 2),
  });
  assertEquals(info.bios, undefined);
  assertEquals(info.kernel!.start, 0x8000_0000); // no firmware: the kernel goes to the start of RAM
  assertEquals(info.initrd!.start, 0x8100_0000);
  assertEquals(info.fdt.start, 0x81e0_0000);
  assertEquals(fdtCells(parseDtb(info.dtb).find("memory@80000000")!.get("reg"))[3], 32 * MiB);
});

Deno.test("bootVirt() runs the reset ROM into the firmware with a0/a1/a2 set", () => {
  const m = new VirtMachine();
  // Firmware: an infinite loop (j .) at 0x80000000.
  const fw = Uint8Array.of(0x6f, 0x00, 0x00, 0x00);
  const info = bootVirt(m, { devices: virtDevices(m), bios: fw, kernel: filled(64, 0) });
  m.run(6);
  const x = m.cpu.state.x;
  assertEquals(m.cpu.state.pc, 0x8000_0000);
  assertEquals(x[10], 0); // a0 = mhartid
  assertEquals(x[11] >>> 0, info.fdt.start); // a1 = device tree
  assertEquals(x[12] >>> 0, 0x1028); // a2 = fw_dynamic_info
});

Deno.test("bootVirt() refuses bad requests without changing the machine", () => {
  const m = new VirtMachine({ ramSize: 16 * MiB });
  const devices = virtDevices(m);
  const untouched = () => {
    assertEquals(m.ram.read(0x8000_0000, 4), new Uint8Array(4));
    assertEquals(m.bus.regions.some((r) => r.base === MROM_BASE), false);
  };
  const err = (field: string) => (e: unknown) => e instanceof BootError && e.field === field;
  throws(() => bootVirt(m, { devices, bios: filled(4, 1), initrd: filled(4, 1) }), err("initrd"));
  throws(() => bootVirt(m, { devices, bios: filled(4, 1), append: "x" }), err("append"));
  // A kernel that runs into the device tree's slot.
  throws(
    () => bootVirt(m, { devices, bios: filled(4, 1), kernel: filled(12 * MiB, 1) }),
    err("fdt"),
  );
  // A kernel past the end of RAM.
  throws(
    () => bootVirt(m, { devices, bios: filled(4, 1), kernel: filled(17 * MiB, 1) }),
    err("kernel"),
  );
  throws(
    () =>
      bootVirt(m, {
        devices: [...devices, { name: "odd", base: 0x4000_0000, size: 4 }],
        bios: filled(4, 1),
      }),
    err("fdt"),
  );
  untouched();
});

Deno.test("virtDevices() lists the machine's MMIO regions with their irqs", () => {
  const m = new VirtMachine();
  const names = virtDevices(m).map((d) => `${d.name}@${d.base.toString(16)}:${d.irq ?? "-"}`);
  assertEquals(names, [
    "sifive_test@100000:-",
    "goldfish_rtc@101000:11",
    "aclint@2000000:-",
    "plic@c000000:-",
    "uart0@10000000:10",
    "nvme@10100000:12",
  ]);
  bootVirt(m, { devices: virtDevices(m) });
  assertEquals(virtDevices(m).length, 6); // the ROM is not a device of the tree
});

// ---- Against QEMU 7.2 and the built Linux guest (ignored when they are missing) ----

const QEMU = QEMU_RV32;
const QEMU_CPU = QEMU_RV32IMA_CPU;
const noQemu = await qemuMissingReason();
const linux = linuxArtifacts();

/** Runs QEMU stopped at reset (-S) with monitor commands on stdin; returns the monitor output. */
async function qemuMonitor(args: string[], commands: string[]): Promise<string> {
  const child = new Deno.Command(QEMU, {
    args: [
      "-M",
      "virt",
      "-cpu",
      QEMU_CPU,
      "-display",
      "none",
      "-serial",
      "none",
      "-S",
      "-monitor",
      "stdio",
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode([...commands, "quit", ""].join("\n")));
  await w.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout);
}

/** Words of `xp /Nwx ADDR` lines in monitor output. */
function xpWords(text: string): number[] {
  return [...text.matchAll(/^[0-9a-f]{16}: (.*)$/gm)].flatMap((m) =>
    m[1].trim().split(/\s+/).map((w) => Number.parseInt(w, 16))
  );
}

Deno.test({
  name: `bootVirt()'s reset ROM, initrd and tree agree with QEMU 7.2 (64/128/256 MiB)${
    noQemu ? ` (ignored: ${noQemu})` : ""
  }`,
  ignore: noQemu !== null,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const files = {
        bios: filled(150_000, 0x13),
        kernel: filled(2_200_000, 0x13),
        initrd: filled(1000, 7),
      };
      for (const [k, v] of Object.entries(files)) await Deno.writeFile(`${dir}/${k}`, v);
      for (const mib of [64, 128, 256]) {
        const m = new VirtMachine({ ramSize: mib * MiB });
        const info = bootVirt(m, { devices: virtDevices(m), ...files, append: "console=ttyS0" });
        const qargs = [
          "-m",
          `${mib}M`,
          "-bios",
          `${dir}/bios`,
          "-kernel",
          `${dir}/kernel`,
          "-initrd",
          `${dir}/initrd`,
          "-append",
          "console=ttyS0",
        ];
        const rom = xpWords(await qemuMonitor(qargs, ["xp /16wx 0x1000"]));
        assertEquals(
          rom,
          Array.from({ length: 16 }, (_, i) => m.bus.load(0x1000 + 4 * i, 4)),
          `ROM at ${mib} MiB`,
        );
        await new Deno.Command(QEMU, {
          args: ["-M", `virt,dumpdtb=${dir}/q.dtb`, "-cpu", QEMU_CPU, "-display", "none", ...qargs],
          stdout: "null",
          stderr: "null",
        }).output();
        const theirs = parseDtb(await Deno.readFile(`${dir}/q.dtb`));
        const ours = parseDtb(info.dtb);
        // Every property we write exists in QEMU's tree with the same bytes (QEMU has more nodes,
        // plus a random rng-seed; our NVMe device sits where QEMU has fw-cfg).
        const compare = (a: FdtNode, b: FdtNode, path: string) => {
          for (const [name, value] of a.props) {
            assertEquals(b.get(name), value, `${path}/${name} at ${mib} MiB`);
          }
          for (const c of a.children) {
            if (c.name.startsWith("nvme@")) continue;
            const other = b.find(c.name);
            assertEquals(other !== undefined, true, `${path}/${c.name} missing in QEMU's tree`);
            compare(c, other!, `${path}/${c.name}`);
          }
        };
        compare(ours, theirs, "");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `snapshell runs the reset ROM into OpenSBI 1.1, which takes the fw_dynamic info as on QEMU${
    linux ? "" : ` (ignored: ${linuxMissingReason()})`
  }`,
  ignore: linux === null,
  fn() {
    const m = new VirtMachine();
    const info = bootVirt(m, {
      devices: virtDevices(m),
      bios: Deno.readFileSync(linux!.bios),
      kernel: Deno.readFileSync(linux!.kernel),
      append: "console=ttyS0 earlycon",
    });
    m.run(6);
    assertEquals(m.cpu.state.pc, 0x8000_0000);
    // OpenSBI 1.1 keeps hart 0's scratch at 0x80041000 (firmware end 0x80040000 + its stack):
    // fw_start, fw_size, next_arg1 (tree), next_addr (kernel), next_mode (S). QEMU 7.2 holds
    // the same five words there after booting these files (monitor `xp /5wx 0x80041000`).
    const scratch = () => Array.from(m.ram.u32.subarray(0x41000 / 4, 0x41000 / 4 + 5));
    const want = [0x8000_0000, 0x42000, info.fdt.start, 0x8040_0000, 1];
    for (let n = 0; n < 50 && scratch()[3] !== want[3]; n++) {
      if (m.run(100_000).stop === "exit") break;
    }
    assertEquals(scratch(), want);
  },
});

Deno.test("bootVirtFiles() reads the named files and names them in the boot info", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/fw.bin`, filled(64, 0x55));
    await Deno.writeFile(`${dir}/Image`, filled(64, 0x66));
    const m = new VirtMachine({ ramSize: 16 * MiB });
    const info = await bootVirtFiles(m, {
      bios: `${dir}/fw.bin`,
      kernel: `${dir}/Image`,
      append: "quiet",
    });
    assertEquals(describeBoot(info), [
      `bios    0x80000000..0x80000040  ${dir}/fw.bin`,
      `kernel  0x80400000..0x80400040  ${dir}/Image`,
      `fdt     0x80e00000..0x${(0x80e0_0000 + info.dtb.length).toString(16)}  (generated)`,
      "append  quiet",
    ]);
    assertEquals(m.ram.read(0x8040_0000, 1)[0], 0x66);
    await assertRejects(
      bootVirtFiles(new VirtMachine({ ramSize: 16 * MiB }), { bios: `${dir}/missing` }),
      (e: unknown) => e instanceof BootError && e.field === "bios",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
