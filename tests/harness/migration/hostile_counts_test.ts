/**
 * Counts from a stream of unknown length, end to end through a real TCP socket and a real pipe
 * (`exec:cat`): a claimed count is refused with a typed error before anything is allocated for
 * it (the description's maximum, the bytes an item may hold), instead of an allocation sized by
 * the claim (a RangeError, or gigabytes and a blocked event loop, before this was bounded).
 */
import { ok, rejects, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { receiveMigration } from "../../../harness/migration/incoming.ts";
import { readShut } from "../../../harness/migration/return_path.ts";
import { corruptBytes } from "../../../migration/corrupt/mod.ts";
import { MigrationError } from "../../../migration/errors.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";

/** Header, configuration, and a `configuration/capabilities` subsection claiming `count`. */
function capsClaim(count: number): Uint8Array {
  const text = new TextEncoder();
  const name = text.encode("riscv-virt");
  const sub = text.encode("configuration/capabilities");
  const out: number[] = [];
  const be32 = (v: number) =>
    out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  be32(0x5145564d);
  be32(3);
  out.push(7);
  be32(name.length);
  out.push(...name);
  out.push(5, sub.length, ...sub);
  be32(1);
  be32(count);
  return new Uint8Array(out);
}

/** A small machine saved with UART input queued (so `serial/snapshell-input` is sent). */
async function withInput(): Promise<Uint8Array> {
  const m = new VirtMachine({ ramSize: 64 << 10, disk: new Uint8Array(4096) });
  m.sendInput("xy");
  m.run(200);
  const w = new StreamWriter();
  await m.save(w);
  return w.take();
}

const make = (ram: number | undefined) =>
  new VirtMachine({ ramSize: ram, disk: new Uint8Array(4096) });

/** Send `bytes` over a real connection to `incoming tcp:` and keep it open until the verdict. */
async function overTcp(bytes: Uint8Array): Promise<{ error: unknown; verdict: string }> {
  let bound!: (port: number) => void;
  const port = new Promise<number>((r) => bound = r);
  const receiving = receiveMigration({ kind: "tcp", host: "127.0.0.1", port: 0 }, make, {
    timeoutMs: 20_000,
    idleTimeoutMs: 20_000,
    onListening: (uri) => bound(Number(/:(\d+)$/.exec(uri)![1])),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: await port });
  await conn.write(bytes);
  // The connection stays open: the destination must decide from what it has, not wait for EOF.
  const error = await receiving.then(() => undefined, (e) => e);
  const verdict = await readShut(conn, "test");
  conn.close();
  return { error, verdict };
}

/** Send `bytes` through a pipe: `incoming exec:cat FILE`. */
async function overPipe(bytes: Uint8Array): Promise<unknown> {
  const file = await Deno.makeTempFile({ suffix: ".qevm" });
  try {
    await Deno.writeFile(file, bytes);
    return await receiveMigration({ kind: "exec", command: `cat '${file}'` }, make, {
      timeoutMs: 20_000,
    }).then(() => undefined, (e) => e);
  } finally {
    await Deno.remove(file);
  }
}

const typedCorrupt = (e: unknown) => e instanceof MigrationError && e.kind === "corrupt";

Deno.test("tcp: caps_count=0x7fffffff in a 59-byte stream is a typed rejection", async () => {
  const { error, verdict } = await overTcp(capsClaim(0x7fffffff));
  ok(typedCorrupt(error), String(error));
  ok(/capabilities/.test((error as Error).message), (error as Error).message);
  strictEqual(verdict, "rejected");
});

Deno.test("pipe: caps_count=0x7fffffff is a typed rejection", async () => {
  const error = await overPipe(capsClaim(0x7fffffff));
  ok(typedCorrupt(error), String(error));
});

Deno.test("tcp and pipe: a real snapshot with input_count claimed huge is refused by the UART's maximum", async () => {
  const base = await withInput();
  for (const value of ["0x7fffffff", "0x0400000b"]) {
    const bytes = await corruptBytes(base, [
      { op: "set-field", path: "serial/snapshell-input.input_count", value },
    ]);
    const { error, verdict } = await overTcp(bytes);
    ok(typedCorrupt(error), `${value}: ${error}`);
    ok(/maximum/.test((error as Error).message), (error as Error).message);
    strictEqual(verdict, "rejected");
    const piped = await overPipe(bytes);
    ok(typedCorrupt(piped), `${value} via pipe: ${piped}`);
  }
});

Deno.test("tcp: a count within the maximum is waited for, not allocated for: the stream ends, a truncation", async () => {
  // 200 capabilities claimed, none sent: the loader wants their bytes before it allocates.
  const claim = capsClaim(200);
  let bound!: (port: number) => void;
  const port = new Promise<number>((r) => bound = r);
  const receiving = receiveMigration({ kind: "tcp", host: "127.0.0.1", port: 0 }, make, {
    timeoutMs: 20_000,
    onListening: (uri) => bound(Number(/:(\d+)$/.exec(uri)![1])),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: await port });
  await conn.write(claim);
  await conn.closeWrite();
  await rejects(receiving, (e) => typedCorrupt(e) && /Stream ends early/.test(String(e)));
  conn.close();
});
