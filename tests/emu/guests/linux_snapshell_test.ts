/**
 * The Linux guest in snapshell: boots to the init's prompt, answers a typed command, snapshots in
 * OpenSBI / early kernel / at the prompt resume exactly, and the console equals QEMU 7.2's boot.
 * One boot per file: the steps share the machine and the snapshots taken on the way.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { linuxArtifacts, linuxMissingReason } from "../../../emu/guests/linux/artifacts.ts";
import {
  LINUX_APPEND,
  QEMU_RV32,
  qemuLinuxArgs,
  qemuMissingReason,
} from "../../../emu/guests/linux/qemu.ts";
import { bootVirtFiles, machineDtb } from "../../../emu/boot/boot.ts";
import { VirtMachine } from "../../../emu/virt.ts";
import { decodedCopy, diffMachines, machinesEqual } from "../../../harness/store/machine_diff.ts";
import { corruptBytes } from "../../../migration/corrupt/mod.ts";
import { MigrationError } from "../../../migration/errors.ts";
import { runCampaign } from "../../../harness/fuzz/campaign.ts";
import { loadFresh, replay } from "../../../harness/replay/replay.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

const RAM = 128 * 1024 * 1024;
const PROMPT = "snapshell# ";
const COMMAND = "echo hello from the host\n";
/** Cycles run after typing the command (the answer takes ~1.8 M). */
const AFTER_COMMAND = 4_000_000;
/** Bound on the boot (the prompt comes at ~34.5 M cycles). */
const BOOT_LIMIT = 200_000_000;

const artifacts = linuxArtifacts();
const skip = artifacts === null ? linuxMissingReason() : null;

const skipQemu = skip ?? (await qemuMissingReason());

/**
 * What QEMU 7.2 needs besides the notes' command line to print the same boot, each for one line
 * it otherwise prints differently (docs/benchmarks.md "Linux boot"):
 * - `pmu-num=0`: QEMU's hart has 16 mhpmcounters, snapshell's none ("Boot HART MHPM Count");
 * - `-dtb` snapshell's tree: QEMU's own describes virtio/PCI/flash/fw_cfg too, and the bigger
 *   blob is reserved ("Memory: ... 3600K reserved" against 3592K);
 * - `-rtc base=2024-01-01`: QEMU's RTC follows the host clock, snapshell's starts at 2024-01-01;
 * - `-icount shift=0,sleep=off`: without it QEMU's virtual clock follows the host's, so on a loaded
 *   machine the RTC line read a second later ("00:00:01"); with it time counts instructions.
 */
function qemuSameBootArgs(dtb: string): string[] {
  return [
    ...qemuLinuxArgs(artifacts!).map((a) => a.startsWith("rv32,") ? `${a},pmu-num=0` : a),
    "-dtb",
    dtb,
    "-rtc",
    "base=2024-01-01T00:00:00,clock=vm",
    "-icount",
    "shift=0,sleep=off",
  ];
}

/** Console lines with CRs dropped and printk timestamps (`[    0.000000] `) masked. */
function consoleLines(text: string): string[] {
  return text.replaceAll("\r", "").split("\n").map((l) => l.replace(/^\[ *\d+\.\d+\] /, "[T] "));
}

/** QEMU's console from start to the init's first prompt (bounded wait). */
async function qemuBootToPrompt(args: string[]): Promise<string> {
  const child = new Deno.Command(QEMU_RV32, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  let text = "";
  const dec = new TextDecoder();
  try {
    for await (const chunk of child.stdout) {
      text += dec.decode(chunk, { stream: true });
      if (text.endsWith(PROMPT)) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
  }
  return text;
}

/** Runs `m` until its mcycle is exactly `cycle` (run(n) advances mcycle by n unless the guest exits). */
function runTo(m: VirtMachine, cycle: number): void {
  while (m.cpu.cycle < cycle) {
    const r = m.run(cycle - m.cpu.cycle);
    if (r.stop === "exit") throw new Error(`guest exited at cycle ${m.cpu.cycle}`);
  }
  assertEquals(m.cpu.cycle, cycle);
}

async function save(m: VirtMachine): Promise<Uint8Array> {
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

/** A snapshot taken on the way, with where it was taken. */
interface Snap {
  name: string;
  cycle: number;
  consoleAt: number;
  bytes: Uint8Array;
}

/** The uninterrupted run: boot, snapshots, prompt, typed command. Built once, shared by the steps. */
interface Reference {
  machine: VirtMachine;
  snaps: Snap[];
  promptCycle: number;
  endCycle: number;
}

let reference: Promise<Reference> | undefined;
function bootOnce(): Promise<Reference> {
  reference ??= (async () => {
    const m = new VirtMachine({ ramSize: RAM });
    await bootVirtFiles(m, {
      bios: artifacts!.bios,
      kernel: artifacts!.kernel,
      append: LINUX_APPEND,
    });
    const snaps: Snap[] = [];
    const snap = async (name: string) =>
      snaps.push({
        name,
        cycle: m.cpu.cycle,
        consoleAt: m.consoleText.length,
        bytes: await save(m),
      });
    runTo(m, 1_000_000);
    ok(m.cpu.state.pc >= 0x8000_0000 && m.cpu.state.pc < 0x8040_0000, "1 M cycles in: in OpenSBI");
    await snap("opensbi");
    runTo(m, 12_000_000);
    ok(m.consoleText.includes("Linux version 6.1"), "12 M cycles in: the kernel runs");
    await snap("early kernel");
    while (!m.consoleText.endsWith(PROMPT)) {
      ok(m.cpu.cycle < BOOT_LIMIT, `no prompt after ${BOOT_LIMIT} cycles:\n${m.consoleText}`);
      runTo(m, m.cpu.cycle + 250_000);
    }
    await snap("prompt");
    const promptCycle = m.cpu.cycle;
    m.sendInput(COMMAND);
    runTo(m, promptCycle + AFTER_COMMAND);
    return { machine: m, snaps, promptCycle, endCycle: promptCycle + AFTER_COMMAND };
  })();
  return reference;
}

Deno.test({
  name: `Linux boots in snapshell to the init's prompt and answers a typed command${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn() {
    const { machine, snaps } = await bootOnce();
    const text = machine.consoleText;
    ok(text.includes("OpenSBI v1.1"), text);
    ok(text.includes("snapshell linux init"), text);
    const answer = text.slice(snaps[2].consoleAt);
    assertEquals(answer, `${COMMAND}hello from the host\n${PROMPT}`.replaceAll("\n", "\r\n"));
  },
});

for (const point of ["opensbi", "early kernel", "prompt"]) {
  Deno.test({
    name:
      `a Linux snapshot taken ${point === "prompt" ? "at the prompt" : `in ${point}`} resumes ` +
      `to the same console and machine state as the uninterrupted run${
        skip ? ` (ignored: ${skip})` : ""
      }`,
    ignore: skip !== null,
    async fn() {
      const ref = await bootOnce();
      const s = ref.snaps.find((x) => x.name === point)!;
      const m = new VirtMachine({ ramSize: RAM });
      await m.load(StreamReader.fromBytes(s.bytes));
      assertEquals(m.cpu.cycle, s.cycle);
      runTo(m, ref.promptCycle);
      m.sendInput(COMMAND);
      runTo(m, ref.endCycle);
      assertEquals(m.consoleText, ref.machine.consoleText.slice(s.consoleAt));
      // Compared as streams carry them (fields such as fcr_vmstate are only filled when saving).
      const d = diffMachines(
        await decodedCopy(ref.machine, new VirtMachine({ ramSize: RAM })),
        await decodedCopy(m, new VirtMachine({ ramSize: RAM })),
      );
      ok(machinesEqual(d), JSON.stringify(d).slice(0, 2000));
    },
  });
}

Deno.test({
  name: `snapshell's Linux boot prints the same console lines as QEMU 7.2's boot of the same files${
    skipQemu ? ` (ignored: ${skipQemu})` : ""
  }`,
  ignore: skipQemu !== null,
  async fn() {
    const ref = await bootOnce();
    const ours = ref.machine.consoleText.slice(0, ref.snaps[2].consoleAt);
    const m = new VirtMachine({ ramSize: RAM });
    const dtb = await Deno.makeTempFile({ suffix: ".dtb" });
    try {
      await Deno.writeFile(
        dtb,
        machineDtb(m, LINUX_APPEND),
      );
      const theirs = await qemuBootToPrompt(qemuSameBootArgs(dtb));
      ok(theirs.endsWith(PROMPT), `QEMU did not reach the prompt:\n${theirs}`);
      assertEquals(consoleLines(ours), consoleLines(theirs));
    } finally {
      await Deno.remove(dtb);
    }
  },
});

Deno.test({
  name: `check, corrupt --set, replay and fuzz work on a Linux snapshot at the prompt${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  async fn(t) {
    const ref = await bootOnce();
    const prompt = ref.snaps.find((x) => x.name === "prompt")!;

    await t.step(
      "check: the snapshot loads into a fresh machine sized from its stream",
      async () => {
        const m = await loadFresh(prompt.bytes);
        assertEquals(m.ram.size, RAM);
        assertEquals(m.cpu.cycle, prompt.cycle);
      },
    );

    await t.step(
      "a device field set out of range is refused with a typed error, nothing changes",
      async () => {
        const m = await loadFresh(prompt.bytes);
        const before = await decodedCopy(m, new VirtMachine({ ramSize: RAM }));
        // LSR without TEMT while nothing is being sent: QEMU's serial post_load refuses it.
        const bad = await corruptBytes(prompt.bytes, [{
          op: "set-field",
          path: "serial.lsr",
          value: "0",
        }]);
        let err: unknown;
        try {
          await m.load(StreamReader.fromBytes(bad));
        } catch (e) {
          err = e;
        }
        ok(err instanceof MigrationError, `expected a MigrationError, got ${err}`);
        assertEquals(err.kind, "corrupt");
        ok(/tsr not empty/.test(err.message), err.message);
        const d = diffMachines(before, await decodedCopy(m, new VirtMachine({ ramSize: RAM })));
        ok(machinesEqual(d), JSON.stringify(d).slice(0, 2000));
      },
    );

    await t.step("replay against its source: no divergence over 500,000 instructions", async () => {
      const source = await loadFresh(prompt.bytes);
      const r = await replay(prompt.bytes, { kind: "machine", machine: source }, {
        insns: 2_000_000,
      });
      ok(r.identical, JSON.stringify(r.divergence));
      assertEquals(r.console.reference, r.console.replay);
    });

    await t.step("a seeded fuzz campaign of 300 cases finds no bug", async () => {
      const r = await runCampaign(prompt.bytes, { iterations: 300, seed: 1, workers: 0 });
      assertEquals(r.bugs, 0, JSON.stringify(r.reports).slice(0, 2000));
      assertEquals(r.counts.invalid + r.counts.exception + r.counts.hang, 0);
      ok(
        r.counts.rejected > 0 && r.counts.equal + r.counts.different > 0,
        JSON.stringify(r.counts),
      );
    });
  },
});
