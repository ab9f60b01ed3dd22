/**
 * A minimal QMP client (QEMU's JSON monitor on a loopback TCP port) for the QEMU side of the
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

/** A loopback TCP port nobody listens on right now, for QEMU's monitor. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** One QMP connection, capabilities already negotiated. */
export class Qmp {
  private buffered = "";
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  private constructor(private readonly conn: Deno.Conn) {}

  /**
   * Connect to QEMU's `-qmp tcp:127.0.0.1:PORT,server=on,wait=off` monitor, retrying until it
   * listens. (TCP on loopback rather than a unix socket: Deno 2.9 wants net access for a unix
   * socket's path, which `--allow-net=127.0.0.1` does not give.)
   */
  static async connect(port: number, attempts = 200): Promise<Qmp> {
    for (let i = 0;; i++) {
      try {
        const q = new Qmp(await Deno.connect({ hostname: "127.0.0.1", port }));
        await q.readMessage(); // greeting
        await q.execute("qmp_capabilities");
        return q;
      } catch (e) {
        if (i >= attempts || !(e instanceof Deno.errors.ConnectionRefused)) throw e;
        await new Promise((r) => setTimeout(r, 10)); // QEMU does not listen yet
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
