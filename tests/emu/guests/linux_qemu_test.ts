import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { linuxArtifacts, linuxMissingReason } from "../../../emu/guests/linux/artifacts.ts";
import {
  LINUX_APPEND,
  QEMU_RV32,
  qemuLinuxArgs,
  qemuMissingReason,
} from "../../../emu/guests/linux/qemu.ts";
import { machineDtb } from "../../../emu/boot/boot.ts";
import { VirtMachine } from "../../../emu/virt.ts";

/** Upper bound for any single wait (boot takes ~0.5 s alone; the machine is shared). */
const WAIT_MS = 60_000;
const PROMPT = "snapshell# ";

const artifacts = linuxArtifacts();
const skip = (await qemuMissingReason()) ?? (artifacts === null ? linuxMissingReason() : null);

/** QEMU with the guest's serial console on pipes: type lines, wait for text with a bound. */
class QemuConsole {
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reading: Promise<void>;
  private waiters: (() => void)[] = [];
  /** Everything the guest printed so far (CRs dropped: the tty writes CR LF). */
  text = "";
  /** Set when QEMU's stdout closed (QEMU exited). */
  closed = false;

  constructor(args: string[]) {
    this.child = new Deno.Command(QEMU_RV32, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.writer = this.child.stdin.getWriter();
    const stdout = this.child.stdout;
    this.reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stdout) {
        this.text += dec.decode(chunk, { stream: true }).replaceAll("\r", "");
        this.wake();
      }
      this.closed = true;
      this.wake();
    })();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the output once `text` occurs at or after `from`; fails after `ms`. */
  async waitFor(text: string, from = 0, ms = WAIT_MS): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no "${text}" within ${ms} ms; console:\n${this.text}`)),
        ms,
      );
    });
    try {
      for (;;) {
        const at = this.text.indexOf(text, from);
        if (at >= 0) return at + text.length;
        if (this.closed) throw new Error(`QEMU exited before "${text}"; console:\n${this.text}`);
        await Promise.race([new Promise<void>((r) => this.waiters.push(r)), timeout]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Types a line on the console. */
  async send(line: string): Promise<void> {
    await this.writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Waits for QEMU to exit by itself (bounded); returns its status. */
  async exit(ms = WAIT_MS): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU still running after ${ms} ms`)), ms);
    });
    try {
      const status = await Promise.race([this.child.status, timeout]);
      await this.reading;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills QEMU if it is still running and releases the pipes. */
  async close(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.writer.close().catch(() => {});
    await this.child.status;
    await this.reading;
    await this.child.stderr.cancel().catch(() => {});
  }
}

Deno.test({
  name: `Linux guest boots on QEMU 7.2 to the init's prompt and answers commands${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  sanitizeResources: false,
  async fn() {
    const qemu = new QemuConsole(qemuLinuxArgs(artifacts!));
    try {
      let at = await qemu.waitFor("OpenSBI v1.1");
      at = await qemu.waitFor("Linux version 6.1", at);
      at = await qemu.waitFor("snapshell linux init", at);
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("echo hello from the host");
      at = await qemu.waitFor("\nhello from the host", at);
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("cat /proc/version");
      at = await qemu.waitFor("Linux version 6.1", at);
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("count 3 10");
      at = await qemu.waitFor("tick 3\n", at);
      ok(qemu.text.lastIndexOf("tick 1\n") < qemu.text.lastIndexOf("tick 2\n"));
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("date");
      const d = await qemu.waitFor("epoch ", at);
      // The goldfish RTC set the clock (QEMU's RTC follows the host): a year after 2020.
      const eol = await qemu.waitFor("\n", d);
      const epoch = Number(qemu.text.slice(d, eol).trim());
      ok(epoch > 1_577_836_800, `epoch ${epoch} is not after 2020`);
      await qemu.send("poweroff");
      await qemu.waitFor("powering off", d);
      assertEquals((await qemu.exit()).code, 0);
    } finally {
      await qemu.close();
    }
  },
});

Deno.test({
  name: `Linux boots on QEMU 7.2 with snapshell's own device tree (-dtb), RTC and poweroff work${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== null,
  sanitizeResources: false,
  async fn() {
    const m = new VirtMachine();
    const dtb = await Deno.makeTempFile({ suffix: ".dtb" });
    await Deno.writeFile(
      dtb,
      machineDtb(m, LINUX_APPEND),
    );
    const qemu = new QemuConsole([...qemuLinuxArgs(artifacts!), "-dtb", dtb]);
    try {
      let at = await qemu.waitFor("goldfish_rtc 101000.rtc: registered as rtc0");
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("cat /proc/interrupts");
      at = await qemu.waitFor("ttyS0", at);
      at = await qemu.waitFor(PROMPT, at);
      await qemu.send("poweroff");
      await qemu.waitFor("powering off", at);
      assertEquals((await qemu.exit()).code, 0);
    } finally {
      await qemu.close();
      await Deno.remove(dtb);
    }
  },
});
