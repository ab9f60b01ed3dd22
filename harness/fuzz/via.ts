/**
 * Fuzz transports: a case's bytes can reach the loader through a real TCP connection on
 * 127.0.0.1 or a real pipe (a FIFO), instead of from memory. Both are streams of unknown length,
 * so the loader takes the paths a live `incoming` takes: counts it cannot check against a size,
 * buffers that grow as bytes arrive, reads that wait. The writer runs alongside the load and is
 * dropped when the loader stops reading (a rejection half-way).
 * @module
 */
import type { ByteSource } from "../../migration/stream/reader.ts";

/** How a case reaches the loader: from memory, or through a socket or a pipe. */
export type FuzzVia = "memory" | "tcp" | "pipe";

/** The names `fuzz --via` accepts. */
export const FUZZ_VIAS: readonly FuzzVia[] = ["memory", "tcp", "pipe"];

/** A source fed through a transport; `close` ends both sides and waits for the writer. */
export interface ViaStream {
  /** What the loader reads (no size: a stream of unknown length). */
  source: ByteSource;
  /** Close both ends; never throws. */
  close(): Promise<void>;
}

type Input = Uint8Array | ByteSource;

/** Write `input` (bytes, or a source read to its end) to `write` in chunks. */
async function pump(input: Input, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  if (input instanceof Uint8Array) {
    for (let at = 0; at < input.length; at += 64 * 1024) {
      await write(input.subarray(at, Math.min(at + 64 * 1024, input.length)));
    }
    return;
  }
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await input.read(buf);
    if (n === null) return;
    await write(buf.subarray(0, n));
  }
}

/** Write all of `chunk` to a Deno writer. */
async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  chunk: Uint8Array,
): Promise<void> {
  for (let off = 0; off < chunk.length;) off += await w.write(chunk.subarray(off));
}

/** Keeps one listener (tcp) or one FIFO (pipe) for a target's lifetime. */
export class ViaTransport {
  private listener?: Deno.TcpListener;
  private fifo?: string;

  private constructor(readonly via: Exclude<FuzzVia, "memory">) {}

  /** A transport of kind `via` (a listener on an ephemeral port, or a FIFO in a temp dir). */
  static async open(via: Exclude<FuzzVia, "memory">): Promise<ViaTransport> {
    const t = new ViaTransport(via);
    if (via === "tcp") {
      t.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    } else {
      const dir = await Deno.makeTempDir({ prefix: "snapshell-fuzz-" });
      t.fifo = `${dir}/pipe`;
      const made = await new Deno.Command("mkfifo", { args: [t.fifo] }).output();
      if (!made.success) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw new Error(`mkfifo failed: ${new TextDecoder().decode(made.stderr).trim()}`);
      }
    }
    return t;
  }

  /** Send `input` through the transport; the loader reads the returned source. */
  async send(input: Input): Promise<ViaStream> {
    const [reader, writer] = this.via === "tcp" ? await this.connectTcp() : await this.openPipe();
    const writing = pump(input, (c) => writeAll(writer, c))
      .catch(() => {/* the loader stopped reading: its verdict is what counts */})
      .finally(() => {
        try {
          if (this.via === "tcp") (writer as Deno.TcpConn).closeWrite().catch(() => {});
          else writer.close();
        } catch { /* closed */ }
      });
    let open = true;
    return {
      source: { read: (into) => reader.read(into) },
      async close() {
        if (open) {
          open = false;
          try {
            reader.close();
          } catch { /* closed */ }
        }
        await writing;
        try {
          writer.close();
        } catch { /* closed */ }
      },
    };
  }

  private async connectTcp(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
    const port = (this.listener!.addr as Deno.NetAddr).port;
    const [server, client] = await Promise.all([
      this.listener!.accept(),
      Deno.connect({ hostname: "127.0.0.1", port }),
    ]);
    return [server, client];
  }

  private async openPipe(): Promise<[Deno.FsFile, Deno.FsFile]> {
    // Opening a FIFO waits for the other end: open both at once.
    const [r, w] = await Promise.all([
      Deno.open(this.fifo!, { read: true }),
      Deno.open(this.fifo!, { write: true }),
    ]);
    return [r, w];
  }

  /** Close the listener, or remove the FIFO and its directory. */
  async close(): Promise<void> {
    try {
      this.listener?.close();
    } catch { /* closed */ }
    if (this.fifo) {
      await Deno.remove(this.fifo.slice(0, this.fifo.lastIndexOf("/")), { recursive: true })
        .catch(() => {});
    }
  }
}
