/**
 * A minimal QMP client (QEMU's JSON monitor over a unix socket) for the QEMU side of the
 * migration benchmarks: send a command, get its `return`, skip asynchronous events.
 * @module
 */

/** A QMP command that QEMU answered with an `error` object. */
export class QmpError extends Error {
  constructor(command: string, detail: unknown) {
    super(`QMP ${command} failed: ${JSON.stringify(detail)}`);
    this.name = "QmpError";
  }
}

/** One QMP connection, capabilities already negotiated. */
export class Qmp {
  private buffered = "";
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  private constructor(private readonly conn: Deno.UnixConn) {}

  /** Connect to QEMU's `-qmp unix:PATH,server=on,wait=off` socket, retrying until it exists. */
  static async connect(path: string, attempts = 200): Promise<Qmp> {
    for (let i = 0;; i++) {
      try {
        const q = new Qmp(await Deno.connect({ transport: "unix", path }));
        await q.readMessage(); // greeting
        await q.execute("qmp_capabilities");
        return q;
      } catch (e) {
        if (i >= attempts || !(e instanceof Deno.errors.NotFound)) throw e;
        await new Promise((r) => setTimeout(r, 10)); // QEMU has not created the socket yet
      }
    }
  }

  private async readMessage(): Promise<Record<string, unknown>> {
    const buf = new Uint8Array(65536);
    for (;;) {
      const nl = this.buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (line.trim()) return JSON.parse(line);
        continue;
      }
      const n = await this.conn.read(buf);
      if (n === null) throw new QmpError("read", "connection closed");
      this.buffered += this.decoder.decode(buf.subarray(0, n), { stream: true });
    }
  }

  /** Run one command and return its `return` value. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const msg = JSON.stringify(args ? { execute: command, arguments: args } : { execute: command });
    await this.conn.write(this.encoder.encode(msg + "\n"));
    for (;;) {
      const m = await this.readMessage();
      if ("event" in m) continue;
      if ("error" in m) throw new QmpError(command, m.error);
      return m.return;
    }
  }

  /** Close the connection. */
  close(): void {
    this.conn.close();
  }
}
