/**
 * How a stream reaches a waiting QEMU: `tcp` (QEMU's `migrate-incoming tcp:127.0.0.1:0`, we
 * connect to the port it picked) or `exec` (QEMU's `migrate-incoming exec:cat FIFO`: QEMU runs
 * the command and reads the stream from its stdout, a pipe; we write into the FIFO the command
 * reads). Both are set up while the QEMU starts (a warm start); a case opens the writing end,
 * writes, and closes it: QEMU then sees the end of its stream exactly as a source closing the
 * connection, or a command ending, would show it.
 * @module
 */
import { shellWord } from "./shell_word.ts";

/** The ways into QEMU's incoming migration. */
export type QemuVia = "tcp" | "exec";

/** Every way, for option parsing. */
export const QEMU_VIAS: readonly QemuVia[] = ["tcp", "exec"];

/** Where one waiting QEMU reads its stream. */
export interface QemuInlet {
  via: QemuVia;
  /** The URI given to `migrate-incoming` (`exec:cat '/tmp/…/stream-1.fifo'`, `tcp:…:PORT`). */
  uri: string;
  /** tcp: the port QEMU listens on. */
  port?: number;
  /** exec: the FIFO the command reads. */
  fifo?: string;
  /** Resolves when the QEMU ended (a writer waiting for a reader that will never come stops). */
  gone: Promise<unknown>;
}

/** The writing end of an inlet. */
export interface InletWriter {
  write(bytes: Uint8Array): Promise<number>;
  /** End of stream for QEMU (idempotent). */
  close(): void;
}

/** The `migrate-incoming` URI that reads `fifo` through a command (QEMU's `exec:` transport). */
export function execUri(fifo: string): string {
  return `exec:cat ${shellWord(fifo)}`;
}

/** Make the FIFO an `exec:` inlet reads (mkfifo); an environment Error when that fails. */
export async function makeFifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" }).output();
  if (!made.success) {
    throw new Error(`mkfifo ${path} failed: ${new TextDecoder().decode(made.stderr).trim()}`);
  }
}

/**
 * Open the writing end of `inlet`. For `exec`, opening a FIFO waits for its reader (QEMU's
 * `cat`); a QEMU that ends first would leave that wait forever, so its end opens the reading
 * side here to release it, and the open fails.
 */
export async function openInlet(inlet: QemuInlet): Promise<InletWriter> {
  if (inlet.via === "tcp") {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: inlet.port! });
    return {
      write: (b) => conn.write(b),
      close: () => {
        try {
          conn.close();
        } catch { /* QEMU closed it */ }
      },
    };
  }
  const fifo = inlet.fifo!;
  let opened = false;
  let released: Promise<Deno.FsFile | undefined> = Promise.resolve(undefined);
  inlet.gone.then(() => {
    if (!opened) released = Deno.open(fifo, { read: true }).catch(() => undefined);
  });
  const file = await Deno.open(fifo, { write: true });
  opened = true;
  const reader = await released;
  if (reader) {
    reader.close();
    file.close();
    throw new Error(`QEMU ended before its exec: command read ${fifo}`);
  }
  let closed = false;
  return {
    write: (b) => file.write(b),
    close: () => {
      if (closed) return;
      closed = true;
      try {
        file.close();
      } catch { /* closed */ }
    },
  };
}

/** Write `bytes` into `inlet` and close it; QEMU hanging up early is part of the verdict. */
export async function sendAll(inlet: QemuInlet, bytes: Uint8Array): Promise<void> {
  let w: InletWriter | undefined;
  try {
    w = await openInlet(inlet);
    for (let at = 0; at < bytes.length;) at += await w.write(bytes.subarray(at));
  } catch {
    // ECONNRESET / EPIPE: QEMU stopped reading (it refused the stream or died).
  } finally {
    w?.close();
  }
}
