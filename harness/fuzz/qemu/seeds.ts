/**
 * Seeds for campaigns against QEMU, made on the fly with the QEMU under test: start a machine
 * paused (`-S`), optionally let its guest run a while, stop it and migrate it to a file. The
 * riscv32 virt seed runs the ticker guest (tools/qemu-fixtures/ticker.S), whose console output
 * never stops, so a loaded copy that keeps running shows it; the x86_64 `pc` and `q35` seeds
 * carry devices (virtio-net, e1000, AHCI, USB) so their sections are in the stream.
 * @module
 */
import { QemuProcess } from "./process.ts";
import { guestInsns, usesIcount } from "./progress.ts";

/** ticker.S as little-endian RV32 machine words (loaded raw at the DRAM base by `-kernel`). */
const TICKER_WORDS = [
  0x100002b7,
  0x08000313,
  0x006281a3,
  0x00100313,
  0x00628023,
  0x000280a3,
  0x00300313,
  0x006281a3,
  0x06100393,
  0x07b00e13,
  0x00728023,
  0x00138393,
  0x01c39863,
  0x00a00313,
  0x00628023,
  0x06100393,
  0x00018eb7,
  0x6a0e8e93,
  0xfffe8e93,
  0xfe0e9ee3,
  0xfd9ff06f,
];

/** The ticker guest's raw image. */
export function tickerImage(): Uint8Array {
  const out = new Uint8Array(TICKER_WORDS.length * 4);
  const v = new DataView(out.buffer);
  TICKER_WORDS.forEach((w, i) => v.setUint32(i * 4, w, true));
  return out;
}

/**
 * QEMU's instruction counter for the seeds: virtual time advances by 2^5 ns per guest instruction,
 * and with `sleep=off` an idle vCPU jumps to its next timer instead of waiting for the host clock;
 * so the guest's progress is counted in instructions and the campaign's verdicts do not depend on
 * how much CPU the host gives QEMU (harness/fuzz/qemu/run_case.ts).
 */
export const SEED_ICOUNT = ["-icount", "shift=5,sleep=off"];

/** A seed: a name, the QEMU that makes it and loads it, and how long its guest runs first. */
export interface SeedSpec {
  name: string;
  /** Program and machine arguments: the same for making and for loading. */
  argv: string[];
  /** Without `-icount`: wall-clock ms the guest runs before the snapshot (0: from reset). */
  runMs: number;
  /** With `-icount`: run at least this many guest instructions before the snapshot. */
  runInsns?: number;
  /** A `--guest-insns` budget that suits the seed's guest after `cont`. */
  guestInsns?: number;
  /** Files the arguments refer to, written before QEMU starts (`{name: bytes}`). */
  files?: Record<string, Uint8Array>;
}

/** The riscv32 virt seed running the ticker (its image file is `dir/ticker.bin`). */
export function riscvTickerSeed(dir: string, qemu = "qemu-system-riscv32"): SeedSpec {
  return {
    name: "riscv32-virt-ticker",
    argv: [
      qemu,
      ...["-M", "virt", "-bios", "none", "-m", "16M", "-kernel", `${dir}/ticker.bin`],
      ...SEED_ICOUNT,
    ],
    runMs: 200,
    runInsns: 40_000_000,
    guestInsns: 5_000_000,
    files: { "ticker.bin": tickerImage() },
  };
}

/** x86_64 seeds with devices: `pc` (i440fx) and `q35`, small RAM, no disks or network peers. */
export function x86Seeds(qemu = "qemu-system-x86_64"): SeedSpec[] {
  const devices = [
    "-netdev",
    "user,id=n0",
    "-device",
    "virtio-net-pci,netdev=n0",
    "-netdev",
    "user,id=n1",
    "-device",
    "e1000,netdev=n1",
    "-device",
    "qemu-xhci,id=xhci",
    "-device",
    "usb-tablet,bus=xhci.0",
    "-device",
    "virtio-rng-pci",
  ];
  return [
    {
      name: "x86_64-pc-devices",
      argv: [
        qemu,
        "-M",
        "pc",
        "-m",
        "32M",
        "-nodefaults",
        "-vga",
        "std",
        ...devices,
        "-device",
        "ahci,id=ahci0",
        "-usb",
        ...SEED_ICOUNT,
      ],
      runMs: 300,
      runInsns: 6_000_000,
      guestInsns: 300_000,
    },
    {
      name: "x86_64-q35-devices",
      argv: [
        qemu,
        ...["-M", "q35", "-m", "32M", "-nodefaults", "-vga", "std"],
        ...devices,
        ...SEED_ICOUNT,
      ],
      runMs: 300,
      runInsns: 6_000_000,
      guestInsns: 300_000,
    },
  ];
}

/**
 * Make `spec`'s stream into `out`: QEMU starts paused, runs `runMs` if asked, stops, migrates to
 * `exec:cat > out`, and is killed; its files are written into `dir` first.
 */
export async function makeSeed(spec: SeedSpec, dir: string, out: string): Promise<void> {
  for (const [name, bytes] of Object.entries(spec.files ?? {})) {
    await Deno.writeFile(`${dir}/${name}`, bytes);
  }
  const q = await QemuProcess.start(spec.argv, { dir, incoming: false });
  try {
    if (spec.runInsns && usesIcount(spec.argv)) {
      await q.qmp.execute("cont");
      // The guest's own progress: poll its instruction counter (the sampling rate decides nothing).
      while ((await guestInsns(q.qmp, 60_000)) < spec.runInsns) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await q.qmp.execute("stop");
    } else if (spec.runMs > 0) {
      await q.qmp.execute("cont");
      await new Promise((r) => setTimeout(r, spec.runMs)); // the guest's own time, not a wait for us
      await q.qmp.execute("stop");
    }
    await q.qmp.execute("migrate-set-capabilities", {
      capabilities: [{ capability: "events", state: true }],
    });
    await q.qmp.execute("migrate", { uri: `exec:cat > ${out}` });
    const ev = await q.qmp.waitEvent(
      (e) => e.event === "MIGRATION" && ["completed", "failed"].includes(String(e.data?.status)),
      60_000,
    );
    if (ev?.data?.status !== "completed") {
      throw new Error(`${spec.name}: migration to ${out} ${ev?.data?.status ?? "timed out"}`);
    }
  } finally {
    await q.dispose();
  }
}
