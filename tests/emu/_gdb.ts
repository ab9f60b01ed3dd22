/**
 * Just enough of GDB's remote serial protocol to stop QEMU at an exact guest instruction: a
 * software breakpoint (`Z0`), continue (`c`) until the stop reply, remove it (`z0`). The interop
 * tests use it for deterministic stop points; QEMU's `-gdb tcp:127.0.0.1:PORT` serves it.
 * @module
 */

/** A GDB remote connection to QEMU's gdbstub. */
export class GdbRemote {
  private buffered = "";
  private readonly dec = new TextDecoder();
  private readonly enc = new TextEncoder();

  private constructor(private readonly conn: Deno.Conn) {}

  /** Connects to QEMU's gdbstub on loopback `port`, retrying until it listens. */
  static async connect(port: number): Promise<GdbRemote> {
    for (let i = 0;; i++) {
      try {
        const g = new GdbRemote(await Deno.connect({ hostname: "127.0.0.1", port }));
        await g.request("?"); // the stop reason: QEMU is halted while a debugger attaches
        return g;
      } catch (e) {
        if (i >= 2000 || !(e instanceof Deno.errors.ConnectionRefused)) throw e;
        await new Promise((r) => setTimeout(r, 10)); // QEMU is not listening yet
      }
    }
  }

  private async fill(): Promise<void> {
    const buf = new Uint8Array(4096);
    const n = await this.conn.read(buf);
    if (n === null) throw new Error("gdbstub closed the connection");
    this.buffered += this.dec.decode(buf.subarray(0, n));
  }

  /** Sends one packet, waits for its ack and QEMU's reply packet (acked back). */
  async request(data: string): Promise<string> {
    let sum = 0;
    for (const c of this.enc.encode(data)) sum = (sum + c) & 0xff;
    await this.conn.write(this.enc.encode(`$${data}#${sum.toString(16).padStart(2, "0")}`));
    for (;;) {
      this.buffered = this.buffered.replace(/^\+/, "");
      const m = /^\$([^#]*)#[0-9a-fA-F]{2}/.exec(this.buffered);
      if (m) {
        this.buffered = this.buffered.slice(m[0].length);
        await this.conn.write(this.enc.encode("+"));
        return m[1];
      }
      await this.fill();
    }
  }

  /** Runs the guest until it reaches `pc` (a breakpoint there, removed once hit). */
  async runTo(pc: number): Promise<void> {
    const at = pc.toString(16);
    const set = await this.request(`Z0,${at},4`);
    if (set !== "OK") throw new Error(`gdbstub refused a breakpoint at 0x${at}: ${set}`);
    const stop = await this.request("c");
    if (!/^T05/.test(stop)) throw new Error(`unexpected stop reply ${stop}`);
    await this.request(`z0,${at},4`);
  }

  /** Closes the connection (QEMU keeps the guest's run state). */
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
