import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { fdtCells, FdtError, type FdtNode, fdtStrings, parseDtb } from "../../../emu/boot/fdt.ts";
import { type DeviceTableEntry, virtDtb } from "../../../emu/boot/virt_dt.ts";
import { machineDtb } from "../../../emu/boot/boot.ts";
import { QEMU_RV32, qemuMissingReason } from "../../../emu/guests/linux/qemu.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { isDeepStrictEqual } from "node:util";

const DEVICES: DeviceTableEntry[] = [
  { name: "sifive_test", base: 0x10_0000, size: 0x1000 },
  { name: "goldfish_rtc", base: 0x10_1000, size: 0x1000, irq: 11 },
  { name: "aclint", base: 0x200_0000, size: 0x1_0000 },
  { name: "plic", base: 0xc00_0000, size: 0x60_0000 },
  { name: "uart0", base: 0x1000_0000, size: 0x100, irq: 10 },
];
const BASE = { ramBase: 0x8000_0000, ramSize: 128 << 20, devices: DEVICES };

function node(root: FdtNode, path: string): FdtNode {
  let n = root;
  for (const part of path.split("/").filter(Boolean)) {
    const c = n.find(part);
    if (!c) throw new Error(`no ${path}`);
    n = c;
  }
  return n;
}

Deno.test("virtDtb() describes every device of the table at its base with its irq", () => {
  const root = parseDtb(virtDtb(BASE));
  const soc = node(root, "/soc");
  assertEquals(soc.children.map((c) => c.name), [
    "test@100000",
    "rtc@101000",
    "clint@2000000",
    "plic@c000000",
    "serial@10000000",
  ]);
  const uart = node(root, "/soc/serial@10000000");
  assertEquals(fdtStrings(uart.get("compatible")), ["ns16550a"]);
  assertEquals(fdtCells(uart.get("reg")), [0, 0x1000_0000, 0, 0x100]);
  assertEquals(fdtCells(uart.get("interrupts")), [10]);
  assertEquals(fdtCells(uart.get("interrupt-parent")), [3]);
  assertEquals(fdtCells(uart.get("clock-frequency")), [3_686_400]);
  const rtc = node(root, "/soc/rtc@101000");
  assertEquals(fdtStrings(rtc.get("compatible")), ["google,goldfish-rtc"]);
  assertEquals(fdtCells(rtc.get("interrupts")), [11]);
  const plic = node(root, "/soc/plic@c000000");
  assertEquals(fdtCells(plic.get("phandle")), [3]);
  assertEquals(fdtCells(plic.get("riscv,ndev")), [96]);
  assertEquals(fdtCells(plic.get("interrupts-extended")), [2, 11, 2, 9]);
  assertEquals(fdtCells(node(root, "/soc/clint@2000000").get("interrupts-extended")), [2, 3, 2, 7]);
  assertEquals(fdtCells(node(root, "/poweroff").get("value")), [0x5555]);
  assertEquals(fdtCells(node(root, "/poweroff").get("regmap")), [4]);
  assertEquals(fdtCells(node(root, "/reboot").get("value")), [0x7777]);
  assertEquals(fdtCells(node(root, "/soc/test@100000").get("phandle")), [4]);
});

Deno.test("virtDtb() writes memory, cpu and chosen from the options", () => {
  const root = parseDtb(
    virtDtb({
      ...BASE,
      ramSize: 32 << 20,
      bootargs: "console=ttyS0",
      initrd: { start: 5, end: 9 },
    }),
  );
  assertEquals(fdtCells(node(root, "/memory@80000000").get("reg")), [0, 0x8000_0000, 0, 32 << 20]);
  const cpu = node(root, "/cpus/cpu@0");
  assertEquals(fdtStrings(cpu.get("riscv,isa")), ["rv32ima_zicsr_zifencei"]);
  assertEquals(fdtStrings(cpu.get("mmu-type")), ["riscv,sv32"]);
  assertEquals(fdtCells(node(root, "/cpus").get("timebase-frequency")), [10_000_000]);
  const chosen = node(root, "/chosen");
  assertEquals(fdtStrings(chosen.get("bootargs")), ["console=ttyS0"]);
  assertEquals(fdtStrings(chosen.get("stdout-path")), ["/soc/serial@10000000"]);
  assertEquals(fdtCells(chosen.get("linux,initrd-start")), [5]);
  assertEquals(fdtCells(chosen.get("linux,initrd-end")), [9]);
  const bare = node(parseDtb(virtDtb({ ...BASE, mmuType: null })), "/chosen");
  assertEquals(bare.get("bootargs"), undefined);
  assertEquals(bare.get("linux,initrd-start"), undefined);
  assertEquals(
    node(parseDtb(virtDtb({ ...BASE, mmuType: null })), "/cpus/cpu@0").get("mmu-type"),
    undefined,
  );
});

Deno.test("virtDtb() is byte-for-byte deterministic and follows the table", () => {
  assertEquals(virtDtb(BASE), virtDtb({ ...BASE, devices: DEVICES.map((d) => ({ ...d })) }));
  const moved = DEVICES.map((d) => d.name === "uart0" ? { ...d, base: 0x1000_1000 } : d);
  const root = parseDtb(virtDtb({ ...BASE, devices: moved }));
  assertEquals(node(root, "/soc").find("serial@10001000") !== undefined, true);
  assertEquals(fdtStrings(node(root, "/chosen").get("stdout-path")), ["/soc/serial@10001000"]);
});

Deno.test("virtDtb() refuses devices it cannot describe, or without their irq", () => {
  throws(
    () =>
      virtDtb({ ...BASE, devices: [...DEVICES, { name: "mystery", base: 0x3000_0000, size: 16 }] }),
    (e: unknown) => e instanceof FdtError && /mystery/.test(e.message),
  );
  throws(
    () => virtDtb({ ...BASE, devices: [{ name: "uart0", base: 0x1000_0000, size: 0x100 }] }),
    (e: unknown) => e instanceof FdtError && /irq/.test(e.message),
  );
});

const qemuSkip = await qemuMissingReason(); // apt-get install qemu-system-misc
const HELLO = new URL("../../../emu/guests/build/hello.elf", import.meta.url).pathname;
const BOOTARGS = "console=ttyS0 earlycon";

/** Every node and property path where two trees differ: "only in ours/QEMU's: PATH", "differs: PATH". */
function treeDiff(ours: FdtNode, theirs: FdtNode, path = ""): string[] {
  const out: string[] = [];
  for (const [name, value] of ours.props) {
    const other = theirs.get(name);
    if (other === undefined) out.push(`only in ours: ${path}/${name}`);
    else if (!isDeepStrictEqual(value, other)) out.push(`differs: ${path}/${name}`);
  }
  for (const [name] of theirs.props) {
    if (ours.get(name) === undefined) out.push(`only in QEMU's: ${path}/${name}`);
  }
  for (const c of ours.children) {
    const other = theirs.find(c.name);
    if (other) out.push(...treeDiff(c, other, `${path}/${c.name}`));
    else out.push(`only in ours: ${path}/${c.name}`);
  }
  for (const c of theirs.children) {
    if (!ours.find(c.name)) out.push(`only in QEMU's: ${path}/${c.name}`);
  }
  return out;
}

/**
 * The differences of the qemu-virt tree from QEMU 7.2's that stay on purpose (docs/qemu-interop.md,
 * "Differences of the profile from QEMU").
 */
const INTENDED_DIFFERENCES = [
  // A random seed per boot: snapshell's tree is deterministic.
  "only in QEMU's: /chosen/rng-seed",
  // The hart executes RV32IMA (+Zicsr, Zifencei) only; QEMU's default rv32 has F, D, C, H, ...
  "differs: /cpus/cpu@0/riscv,isa",
  // SBI PMU event mapping for OpenSBI: the hart has no programmable HPM events.
  "only in QEMU's: /pmu",
  // The dynamic sysbus platform bus: no device can be plugged into it here.
  "only in QEMU's: /platform-bus@4000000",
];

Deno.test({
  name:
    `the qemu-virt device tree is QEMU 7.2's -M virt tree node by node, but for the listed differences${
      qemuSkip ? ` (ignored: ${qemuSkip})` : ""
    }`,
  ignore: qemuSkip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "snapshell-dt-" });
    try {
      const out = await new Deno.Command(QEMU_RV32, {
        args: [
          ...["-M", `virt,dumpdtb=${dir}/q.dtb`, "-bios", "none", "-m", "16M", "-smp", "1"],
          ...["-kernel", HELLO, "-append", BOOTARGS, "-display", "none", "-nodefaults"],
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assertEquals(out.success, true, new TextDecoder().decode(out.stderr));
      const theirs = parseDtb(await Deno.readFile(`${dir}/q.dtb`));
      const m = new VirtMachine({ profile: "qemu-virt", ramSize: 16 << 20 });
      const ours = parseDtb(machineDtb(m, BOOTARGS));
      assertEquals(treeDiff(ours, theirs).sort(), [...INTENDED_DIFFERENCES].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
