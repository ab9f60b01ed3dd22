/**
 * A QMP client (QEMU's JSON machine protocol) over one connection: reads the greeting, negotiates
 * capabilities, runs commands matched to their answers by `id`, and queues the asynchronous
 * events (MIGRATION, STOP, SHUTDOWN...) so a caller can wait for the one it needs, bounded in time.
 * @module
 */

/** An environment failure talking to QEMU: the connection ended, an answer or event timed out. */
export class QmpError extends Error {
  /** Talking to QEMU failed; never the stream's fault. */
  readonly kind = "environment";
  constructor(message: string, readonly command?: string) {
    super(command ? `QMP ${command}: ${message}` : `QMP: ${message}`);
    this.name = "QmpError";
  }
}

/** QEMU answered a command with `{"error": ...}`: its class and text. */
export class QmpCommandError extends Error {
  /** QEMU refused what we asked: a usage or environment problem, not the stream's. */
  readonly kind = "environment";
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = "QmpCommandError";
  }
}

/** One asynchronous QMP event. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void; command: string };

/** A QMP session on a connected stream (the loopback connection QEMU made to us). */
export class QmpClient {
  private readonly pending = new Map<number, Waiter>();
  private nextId = 1;
  private readonly events: QmpEvent[] = [];
  private eventWaiters: (() => void)[] = [];
  private closedWith?: Error;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly enc = new TextEncoder();
  /** QEMU's version triple from the greeting. */
  version = "";

  private constructor(private readonly conn: Deno.Conn) {
    this.writer = conn.writable.getWriter();
  }

  /**
   * Take over `conn`: read the greeting, send `qmp_capabilities`, within `timeoutMs`; the
   * connection is closed on failure.
   */
  static async open(conn: Deno.Conn, timeoutMs: number): Promise<QmpClient> {
    const c = new QmpClient(conn);
    let greeted: (g: Record<string, unknown>) => void = () => {};
    const greeting = new Promise<Record<string, unknown>>((r) => greeted = r);
    c.readLoop(greeted);
    try {
      const g = await c.within(greeting, timeoutMs, "greeting");
      const v = (g.QMP as { version?: { qemu?: Record<string, number> } })?.version?.qemu;
      c.version = v ? `${v.major}.${v.minor}.${v.micro}` : "";
      await c.execute("qmp_capabilities", undefined, timeoutMs);
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  private async readLoop(greeted: (g: Record<string, unknown>) => void): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of this.conn.readable) {
        buf += dec.decode(chunk, { stream: true });
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) this.onMessage(line, greeted);
        }
      }
      this.fail(new QmpError("QEMU closed the connection"));
    } catch (e) {
      this.fail(new QmpError(`the connection failed (${(e as Error).message})`));
    }
  }

  private onMessage(line: string, greeted: (g: Record<string, unknown>) => void): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not QMP: ignore, as QEMU's own clients do
    }
    if ("QMP" in msg) return greeted(msg);
    if ("event" in msg) {
      this.events.push(msg as unknown as QmpEvent);
      const w = this.eventWaiters;
      this.eventWaiters = [];
      for (const f of w) f();
      return;
    }
    const id = msg.id as number;
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if ("error" in msg) {
      const e = msg.error as { class?: string; desc?: string };
      waiter.reject(new QmpCommandError(waiter.command, e.class ?? "?", e.desc ?? ""));
    } else waiter.resolve(msg.return);
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    for (const w of this.pending.values()) w.reject(this.closedWith);
    this.pending.clear();
    const w = this.eventWaiters;
    this.eventWaiters = [];
    for (const f of w) f();
  }

  private within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QmpError(`no answer in ${ms} ms`, what)), ms);
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }

  /** True once the connection ended (QEMU exited or closed it). */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Run one command; its `return` value, or a QmpCommandError / QmpError (timeout, closed). */
  async execute(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<unknown> {
    if (this.closedWith) throw new QmpError(this.closedWith.message, command);
    const id = this.nextId++;
    const answer = new Promise<unknown>((resolve, reject) =>
      this.pending.set(id, { resolve, reject, command })
    );
    const msg = args ? { execute: command, arguments: args, id } : { execute: command, id };
    try {
      await this.writer.write(this.enc.encode(JSON.stringify(msg) + "\n"));
    } catch (e) {
      this.pending.delete(id);
      throw new QmpError(`cannot send (${(e as Error).message})`, command);
    }
    try {
      return await this.within(answer, timeoutMs, command);
    } finally {
      this.pending.delete(id);
    }
  }

  /**
   * The first queued event (oldest first) that `match` accepts, removed from the queue; waits for
   * it up to `timeoutMs`. Undefined on timeout or when the connection ends first.
   */
  async waitEvent(
    match: (e: QmpEvent) => boolean,
    timeoutMs: number,
  ): Promise<QmpEvent | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(match);
      if (i >= 0) return this.events.splice(i, 1)[0];
      const left = deadline - performance.now();
      if (this.closedWith || left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.eventWaiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Every event received so far and not yet taken by {@link waitEvent}. */
  pendingEvents(): readonly QmpEvent[] {
    return this.events;
  }

  /** Close the connection (idempotent). */
  close(): void {
    this.fail(new QmpError("closed"));
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}
