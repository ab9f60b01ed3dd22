import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { BootError, bootVirt, describeBoot, virtDevices } from "../../../emu/boot/boot.ts";
import { fdtCells, fdtStrings, parseDtb } from "../../../emu/boot/fdt.ts";
import { MROM_BASE } from "../../../emu/boot/reset_rom.ts";
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
