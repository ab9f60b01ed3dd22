/**
 * A QEMU 7.2 riscv32 virt for the interop tests: `-icount shift=0,sleep=off`, the RTC on the
 * virtual clock, QMP (the fuzzer's client, with events) and the serial console on loopback TCP
 * sockets, so the tests wait on what QEMU says and prints, never on the wall clock.
 * @module
 */
import { QEMU_RV32 } from "../../emu/guests/linux/qemu.ts";
import { parseElf } from "../../emu/elf.ts";
import { QmpClient, type QmpEvent } from "../../harness/fuzz/qemu/qmp.ts";
import { freePort } from "../../bench/qmp.ts";

export { freePort };

/** `-rtc` of both sides: 2024-01-01 on the virtual clock. */
export const RTC = "base=2024-01-01T00:00:00,clock=vm";
/** Bound on every wait (the machine is shared with other jobs); never an assertion. */
export const WAIT_MS = 120_000;

/** A built guest (`emu/guests/build/NAME.elf`) with patchable configuration symbols set. */
export function patchedGuest(name: string, values: Record<string, number>): Uint8Array {
  const bytes = Deno.readFileSync(new URL(`../../emu/guests/build/${name}.elf`, import.meta.url));
  const elf = parseElf(bytes);
  const out = bytes.slice();
  for (const [symbol, value] of Object.entries(values)) {
    const at = elf.symbols.get(symbol)!;
    const seg = elf.segments.find((s) => at >= s.paddr && at + 4 <= s.paddr + s.fileSize)!;
    new DataView(out.buffer).setUint32(seg.offset + at - seg.paddr, value, true);
  }
  return out;
}

/** The compute guest with `compute_iterations` patched. */
export function computeGuest(iterations: number): Uint8Array {
  return patchedGuest("compute", { compute_iterations: iterations });
}

/** Connects to a loopback port QEMU is about to open. */
async function connectSoon(port: number): Promise<Deno.Conn> {
  for (let i = 0;; i++) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (e) {
      if (i >= 2000 || !(e instanceof Deno.errors.ConnectionRefused)) throw e;
      await new Promise((r) => setTimeout(r, 10)); // QEMU is not listening yet
    }
  }
}

/** Text as it arrives (QEMU's console or stderr); `waitFor` resolves when a text has come. */
export class TextFeed {
  /** Everything received so far. */
  text = "";
  /** Resolves when the other end closes (QEMU exited). */
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];

  /** Types into it (a console socket). */
  readonly type: (text: string) => Promise<void>;

  constructor(source: Deno.Conn | ReadableStream<Uint8Array>) {
    const enc = new TextEncoder();
    this.type = async (text) => {
      if (source instanceof ReadableStream) throw new Error("not a console");
      const b = enc.encode(text);
      for (let off = 0; off < b.length;) off += await source.write(b.subarray(off));
    };
    this.closed = (async () => {
      const dec = new TextDecoder();
      const add = (b: Uint8Array) => {
        this.text += dec.decode(b, { stream: true });
        this.wake();
      };
      try {
        if (source instanceof ReadableStream) {
          for await (const chunk of source) add(chunk);
        } else {
          const buf = new Uint8Array(4096);
          for (;;) {
            const n = await source.read(buf);
            if (n === null) break;
            add(buf.subarray(0, n));
          }
          source.close();
        }
      } catch { /* reset by QEMU's exit */ }
      this.wake();
    })();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `needle` has come (after `from` characters); fails when QEMU ends first. */
  async waitFor(needle: string, from = 0): Promise<void> {
    let ended = false;
    this.closed.then(() => ended = true);
    const deadline = Date.now() + WAIT_MS;
    while (this.text.indexOf(needle, from) < 0) {
      if (ended) throw new Error(`QEMU ended before ${JSON.stringify(needle)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(needle)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000); // only to look at the deadline again
      });
    }
  }
}

/** A running QEMU with its monitor and console. */
export interface QemuVirt {
  qmp: QmpClient;
  serial: TextFeed;
  /** QEMU's stderr, when started with `{ stderr: true }`. */
  stderr?: TextFeed;
  child: Deno.ChildProcess;
  /** Waits for the MIGRATION event that ends a migration; throws when it failed. */
  migrated(): Promise<void>;
  /**
   * Migrates into `path` (QMP `migrate` to a loopback socket this side reads to its end, so the
   * file is whole when this resolves; `exec:cat > FILE` can still be writing after QEMU's event).
   */
  saveTo(path: string): Promise<void>;
  /** Waits for QEMU to exit (the guest's sifive_test poweroff) and its console to close. */
  exited(): Promise<Deno.CommandStatus>;
  /** Ends QEMU (quit, then kill) when a test is done or failed. */
  stop(): Promise<void>;
}

/**
 * Starts `qemu-system-riscv32 -M virt -bios none -m 16M` (or `-M virt` and `opts.machine`) with
 * `-icount shift=0,sleep=off` (or `opts.icount`), the
 * RTC on the virtual clock and `args`; connects QMP (migration events on) and the console before
 * the guest can print (use `-S` or `-incoming defer`, then `cont`/`migrate-incoming`).
 */
export async function startQemu(
  args: string[],
  opts: { stderr?: boolean; icount?: string; machine?: string[] } = {},
): Promise<QemuVirt> {
  const qmpPort = freePort();
  const conPort = freePort();
  const child = new Deno.Command(QEMU_RV32, {
    args: [
      ...["-M", "virt", ...opts.machine ?? ["-bios", "none", "-m", "16M"]],
      ...["-display", "none", "-monitor", "none"],
      ...["-rtc", RTC, "-icount", opts.icount ?? "shift=0,sleep=off"],
      ...["-qmp", `tcp:127.0.0.1:${qmpPort},server=on,wait=off`],
      ...["-chardev", `socket,id=con0,host=127.0.0.1,port=${conPort},server=on,wait=off`],
      ...["-serial", "chardev:con0", ...args],
    ],
    stdin: "null",
    stdout: "null",
    // QEMU's own complaints explain a failure; a test that reads them gets them instead.
    stderr: opts.stderr ? "piped" : "inherit",
  }).spawn();
  const stderr = opts.stderr ? new TextFeed(child.stderr) : undefined;
  const qmp = await QmpClient.open(await connectSoon(qmpPort), WAIT_MS);
  const serial = new TextFeed(await connectSoon(conPort));
  await qmp.execute("migrate-set-capabilities", {
    capabilities: [{ capability: "events", state: true }],
  });
  const ended = (e: QmpEvent) =>
    e.event === "MIGRATION" &&
    ["completed", "failed", "cancelled"].includes(String(e.data?.status));
  const migrated = async () => {
    const e = await qmp.waitEvent(ended, WAIT_MS);
    if (e?.data?.status !== "completed") {
      throw new Error(`QEMU's migration ended ${e ? e.data?.status : "never"}`);
    }
  };
  return {
    qmp,
    serial,
    stderr,
    child,
    migrated,
    async saveTo(path) {
      await migrateToFile((cmd, args) => qmp.execute(cmd, args), path);
      await migrated();
    },
    async exited() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<never>((_, no) =>
          timer = setTimeout(() => no(new Error("QEMU did not finish")), WAIT_MS)
        ),
      ]).finally(() => clearTimeout(timer));
      await serial.closed;
      qmp.close();
      return status;
    },
    async stop() {
      await qmp.execute("quit", undefined, 5_000).catch(() => {});
      qmp.close();
      try {
        child.kill();
      } catch { /* already gone */ }
      await child.status;
      await serial.closed;
      await stderr?.closed;
    },
  };
}

/**
 * QMP `migrate` (through `execute`) into a loopback socket read to its end into `path`: when this
 * resolves the file is whole (with `exec:cat > FILE`, cat may still be writing after QEMU's
 * MIGRATION event). QEMU reports completion as usual.
 */
export async function migrateToFile(
  execute: (command: string, args?: Record<string, unknown>) => Promise<unknown>,
  path: string,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await execute("migrate", { uri: `tcp:127.0.0.1:${listener.addr.port}` });
    const conn = await listener.accept();
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    await conn.readable.pipeTo(file.writable); // to QEMU's close; closes the file
  } finally {
    listener.close();
  }
}

/** Whether QEMU's console text `qemuText` continues snapshell's exactly, for messages. */
export function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `differ at ${i}: ${JSON.stringify(a.slice(i, i + 40))} vs ${
    JSON.stringify(b.slice(i, i + 40))
  }`;
}
