/** Adapters between sources/sinks and files, web streams and memory. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { VirtMachine } from "../../../emu/virt.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import {
  bytesSource,
  fileSink,
  fileSource,
  isRegularFile,
  MemorySink,
  readableSource,
  streamLength,
  writableSink,
} from "../../../migration/stream/io.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { b } from "../_helpers.ts";
import { MAIN_PERMS, ROOT } from "../../_main_process.ts";

Deno.test("bytesSource() delivers at most `chunk` bytes per read, then null", async () => {
  const src = bytesSource(b(1, 2, 3, 4, 5), 2);
  strictEqual(src.size, 5);
  const into = new Uint8Array(10);
  strictEqual(await src.read(into), 2);
  strictEqual(await src.read(into), 2);
  strictEqual(await src.read(into), 1);
  strictEqual(into[0], 5);
  strictEqual(await src.read(into), null);
});

Deno.test("readableSource() and writableSink() carry bytes through web streams", async () => {
  const chunks: Uint8Array[] = [];
  const sink = writableSink(new WritableStream({ write: (c) => void chunks.push(c) }));
  const buf = b(1, 2, 3);
  await sink.write(buf);
  buf[0] = 9;
  deepStrictEqual([...chunks[0]], [1, 2, 3], "the sink copies the reused chunk");
  const r = StreamReader.fromSource(
    readableSource(ReadableStream.from([b(0, 0), b(1, 0), b(2)])),
    1,
  );
  strictEqual(await r.retrying(() => r.be32()), 0x100);
  strictEqual(await r.retrying(() => r.u8()), 2);
  strictEqual(await r.retrying(() => r.peekU8()), undefined);
});

Deno.test("fileSink() and fileSource() write and read back a file", async () => {
  const path = await Deno.makeTempFile();
  try {
    const out = await Deno.open(path, { write: true });
    await fileSink(out).write(b("QEVM", 0, 0, 0, 3));
    out.close();
    const f = await Deno.open(path);
    const r = StreamReader.fromSource(fileSource(f, 8));
    strictEqual(await r.retrying(() => r.be32()), 0x5145564d);
    strictEqual(r.remaining, 4);
    f.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("MemorySink keeps copies of what was written", async () => {
  const s = new MemorySink();
  const chunk = b(1, 2);
  await s.write(chunk);
  chunk[0] = 7;
  await s.write(chunk);
  deepStrictEqual([...s.bytes()], [1, 2, 7, 2]);
});

/** Run the CLI with `bytes` on its standard input (a pipe); exit code and all output. */
async function cliWithStdin(bytes: Uint8Array, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    // The permissions of `deno task cli` (Deno wants full access to open /dev/stdin by path).
    args: ["run", ...MAIN_PERMS, `${ROOT}main.ts`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(bytes).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("streamLength(): a regular file has its size, a FIFO has none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f`, new Uint8Array(10));
    using f = await Deno.open(`${dir}/f`);
    strictEqual(await streamLength(f), 10);
    strictEqual(await isRegularFile(`${dir}/f`), true);
    await new Deno.Command("mkfifo", { args: [`${dir}/p`] }).output();
    strictEqual(await isRegularFile(`${dir}/p`), false);
    const writer = new Deno.Command("sh", { args: ["-c", `printf abc > '${dir}/p'`] }).spawn();
    using p = await Deno.open(`${dir}/p`);
    strictEqual(await streamLength(p), undefined);
    await writer.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a valid stream on a pipe: check and incoming file: load /dev/stdin; inspect says it needs a file", async () => {
  const m = new VirtMachine({ ramSize: 64 << 10 });
  const w = new StreamWriter();
  await m.save(w);
  const bytes = w.take();
  // No --ram: the RAM size is probed from standard input, whose bytes are then given back.
  const checked = await cliWithStdin(bytes, "check", "/dev/stdin");
  strictEqual(checked.code, 0, checked.text);
  ok(/loads/.test(checked.text), checked.text);
  const received = await cliWithStdin(bytes, "incoming", "file:/dev/stdin");
  strictEqual(received.code, 0, received.text);
  const inspected = await cliWithStdin(bytes, "inspect", "/dev/stdin");
  ok(/needs a seekable file/.test(inspected.text), inspected.text);
  ok(!/internal error/.test(inspected.text), inspected.text);
});
